"""The API's edges over TLS, as scripts and attackers reach them: a chunked
request body is read whole; HEAD on a GET route gets GET's head; 12 KB URLs
get 414 (JSON), not a dropped connection; "bearer" in lower case works;
wrong admin tokens are logged with their address and back off (429 with
Retry-After); node_url names the node endpoint; `fedc tune --out DIR`
writes its store into DIR, not the current directory."""
import http.client
import json
import os
import ssl
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faults_lib import Cluster, record  # noqa: E402

FEDC = os.path.abspath(sys.argv[1])
HERE = os.path.dirname(os.path.abspath(__file__))


def conn(c):
    ctx = ssl.create_default_context(cafile=os.path.join(c.state, "certs", "ca.crt"))
    return http.client.HTTPSConnection("127.0.0.1", c.port, context=ctx, timeout=30)


checks = {}
with Cluster(FEDC, tls=True, name="httpedges") as c:
    c.start_server()
    auth = {"Authorization": f"Bearer {c.token}"}

    # A chunked body (http.client sends an iterable body chunked).
    h = conn(c)
    body = [b'{"name":"chunked-', b'task","rounds":', b"7}"]
    h.request("POST", "/api/tasks/validate", body=iter(body), headers=dict(auth, **{"Content-Type":
                                                                                   "application/json"}),
              encode_chunked=True)
    r = h.getresponse()
    got = json.loads(r.read())
    checks["chunked body"] = r.status == 200 and got["task"]["name"] == "chunked-task" and got["task"]["rounds"] == 7

    # HEAD on GET routes, on the same keep-alive connection.
    h.request("GET", "/api/runs", headers=auth)
    r = h.getresponse()
    get_len = len(r.read())
    h.request("HEAD", "/api/runs", headers=auth)
    r = h.getresponse()
    checks["HEAD"] = r.status == 200 and int(r.getheader("content-length")) == get_len and r.read() == b""
    h.close()

    # A 12 KB URL: a status, as JSON.
    h = conn(c)
    h.request("GET", "/api/runs?x=" + "a" * 12000, headers=auth)
    r = h.getresponse()
    checks["long URL"] = r.status == 414 and "error" in json.loads(r.read())
    h.close()

    # The bearer scheme in lower case.
    st, _ = c.api("GET", "/api/server", token=False, headers={"Authorization": f"bearer {c.token}"})
    checks["lower-case bearer"] = st == 200

    # node_url names the endpoint nodes connect to.
    st, srv = c.api("GET", "/api/server")
    checks["node_url"] = srv["node_url"].endswith("/node")

    # Wrong tokens: logged, then 429 with Retry-After; while the address
    # waits, even the right token is not looked at.
    wrong = {"Authorization": "Bearer wrong-token-00000000"}
    codes = [c.api("GET", "/api/runs", token=False, headers=wrong)[0] for _ in range(5)]
    for _ in range(10):
        codes.append(c.api("GET", "/api/runs", token=False, headers=wrong)[0])
        if codes[-1] == 429:
            st, _ = c.api("GET", "/api/runs", token=False, headers={"Authorization": f"Bearer {c.token}"})
            checks["right token waits too"] = st == 429
            break
    log = c.read_server_log()
    checks["wrong tokens back off"] = codes[:5] == [401] * 5 and codes[-1] == 429
    checks["wrong tokens logged"] = log.count("admin authentication failed from 127.0.0.1") >= 5 and \
        "must wait" in log

# fedc tune --out DIR: the store goes there too.
with tempfile.TemporaryDirectory(prefix="fedc-tune-out-") as d:
    out = os.path.join(d, "out")
    subprocess.run([FEDC, "tune", os.path.join(HERE, "..", "..", "..", "examples", "fmnist-mlp.json"), "--budget", "1",
                    "--rounds", "1", "--set", "clients=4", "--set", "clients_per_round=2", "--set",
                    "local.max_steps=2", "--no-base", "--quiet", "--out", out], cwd=d, check=True, timeout=300,
                   capture_output=True)
    checks["tune --out keeps its store there"] = os.path.exists(os.path.join(out, "fedc.db")) and \
        not os.path.exists(os.path.join(d, "fedc.db"))

for k, v in checks.items():
    print(f"{'ok  ' if v else 'FAIL'} {k}")
record("HTTP edges", len(checks), sum(checks.values()), 0)
assert all(checks.values()), checks
print("ok")
