/* Eigen-decomposition of a small symmetric matrix (cyclic Jacobi), shared by
 * the layers that need one; no LAPACK dependency. */
#ifndef FEDC_CORE_SYM_EIGEN_H
#define FEDC_CORE_SYM_EIGEN_H

/* a (n x n, row-major, symmetric) is destroyed; eigenvalues descending in
 * w, the matching eigenvectors as the columns of v (row-major n x n). */
void sym_eigen_jacobi(double *a, int n, double *w, double *v);

#endif
