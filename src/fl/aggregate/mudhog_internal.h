/* Private to MUD-HoG: clustering on a round's vectors (cluster.c). */
#ifndef FEDC_MUDHOG_INTERNAL_H
#define FEDC_MUDHOG_INTERNAL_H

#include "aggregate_internal.h"

/* G[i*n+j] = v_i . v_j in double. */
void agg_gram(const float *const *v, int n, size_t d, double *G);
/* Euclidean distances from a Gram matrix. */
void agg_gram_dist(const double *G, int n, double *dist);
/* DBSCAN labels (-1 noise, clusters 0..k-1 in discovery order); returns k,
 * -1 when out of memory. */
int agg_dbscan(const double *dist, int n, double eps, int min_samples, int *label);
/* The most frequent label (noise included). */
int agg_majority_label(const int *label, int n);
/* Two-means labels 0/1 from the Gram matrix (best of 10 k-means++ starts). */
int agg_kmeans2(const double *G, int n, fedc_rng *rng, int *label);
/* The label of the smaller of the two clusters (1 on a tie). */
int agg_minority_label(const int *label, int n);
/* Midpoint of the largest gap between sorted values; 0 for fewer than 2. */
double agg_separate_point(const double *vals, int n);

#endif
