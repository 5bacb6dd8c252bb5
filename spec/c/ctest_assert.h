/* Tiny assertion header for the C unit tests (spec/c/test_*.c).
 *
 * Each test file is one standalone program: include this header once, run
 * checks, end main with `return CTEST_SUMMARY();`. A failed check prints
 * "file:line: ..." and the run goes on; the summary prints
 * "N passed, M failed" and returns non-zero when anything failed.
 *
 *   CHECK(cond)                  any truth
 *   CHECK_EQ_INT(actual, expected)
 *   CHECK_STR(actual, expected)  strcmp, NULL-safe
 *   CHECK_CONTAINS(haystack, needle)      strstr, NULL-safe
 *   CHECK_NOT_CONTAINS(haystack, needle)
 *   CHECK_NULL(p) / CHECK_NOT_NULL(p)
 *   CHECK_INTS(actual_array, n, expected...)  e.g. CHECK_INTS(v->ops, v->n_ops, 1, 2, 3)
 *   CTEST_CASE("name")           names the following checks in failure lines
 */
#ifndef FLOW_CTEST_ASSERT_H
#define FLOW_CTEST_ASSERT_H

#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static int ctest_passed_ __attribute__((unused)) = 0;
static int ctest_failed_ __attribute__((unused)) = 0;
static const char *ctest_case_ __attribute__((unused)) = "";

#define CTEST_CASE(name) (ctest_case_ = (name))

static void ctest_fail_(const char *file, int line, const char *fmt, ...)
    __attribute__((unused, format(printf, 3, 4)));
static void ctest_fail_(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  ctest_failed_++;
  fprintf(stdout, "%s:%d: %s%sFAILED: ", file, line, ctest_case_, *ctest_case_ ? ": " : "");
  va_start(ap, fmt);
  vfprintf(stdout, fmt, ap);
  va_end(ap);
  fputc('\n', stdout);
  fflush(stdout);
}

#define CHECK(cond)                                                 \
  do {                                                              \
    if (cond) ctest_passed_++;                                      \
    else ctest_fail_(__FILE__, __LINE__, "CHECK(%s)", #cond);       \
  } while (0)

#define CHECK_EQ_INT(actual, expected)                                                     \
  do {                                                                                     \
    long long ctest_a_ = (long long)(actual), ctest_e_ = (long long)(expected);            \
    if (ctest_a_ == ctest_e_) ctest_passed_++;                                             \
    else ctest_fail_(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #actual,       \
                     ctest_a_, #expected, ctest_e_);                                       \
  } while (0)

#define CHECK_STR(actual, expected)                                                      \
  do {                                                                                   \
    const char *ctest_a_ = (actual), *ctest_e_ = (expected);                             \
    if ((ctest_a_ == NULL && ctest_e_ == NULL) ||                                        \
        (ctest_a_ != NULL && ctest_e_ != NULL && strcmp(ctest_a_, ctest_e_) == 0))       \
      ctest_passed_++;                                                                   \
    else ctest_fail_(__FILE__, __LINE__, "%s is \"%s\", expected \"%s\"", #actual,       \
                     ctest_a_ ? ctest_a_ : "(null)", ctest_e_ ? ctest_e_ : "(null)");    \
  } while (0)

#define CHECK_CONTAINS(haystack, needle)                                                  \
  do {                                                                                    \
    const char *ctest_h_ = (haystack), *ctest_n_ = (needle);                              \
    if (ctest_h_ != NULL && ctest_n_ != NULL && strstr(ctest_h_, ctest_n_) != NULL)       \
      ctest_passed_++;                                                                    \
    else ctest_fail_(__FILE__, __LINE__, "%s does not contain \"%s\"; it is:\n%s",        \
                     #haystack, ctest_n_ ? ctest_n_ : "(null)",                           \
                     ctest_h_ ? ctest_h_ : "(null)");                                     \
  } while (0)

#define CHECK_NOT_CONTAINS(haystack, needle)                                              \
  do {                                                                                    \
    const char *ctest_h_ = (haystack), *ctest_n_ = (needle);                              \
    if (ctest_h_ != NULL && ctest_n_ != NULL && strstr(ctest_h_, ctest_n_) == NULL)       \
      ctest_passed_++;                                                                    \
    else ctest_fail_(__FILE__, __LINE__, "%s contains \"%s\"", #haystack,                 \
                     ctest_n_ ? ctest_n_ : "(null)");                                     \
  } while (0)

#define CHECK_NULL(p)                                                                 \
  do {                                                                                \
    if ((p) == NULL) ctest_passed_++;                                                 \
    else ctest_fail_(__FILE__, __LINE__, "%s is not NULL", #p);                       \
  } while (0)

#define CHECK_NOT_NULL(p)                                                             \
  do {                                                                                \
    if ((p) != NULL) ctest_passed_++;                                                 \
    else ctest_fail_(__FILE__, __LINE__, "%s is NULL", #p);                           \
  } while (0)

/* Compares an int array of length n with the expected values listed. */
static int ctest_ints_(const char *file, int line, const char *what, const int *a, int n,
                       int n_expected, ...) __attribute__((unused));
static int ctest_ints_(const char *file, int line, const char *what, const int *a, int n,
                       int n_expected, ...) {
  char got[512], want[512];
  size_t gl = 0, wl = 0;
  int ok = (n == n_expected) && (n == 0 || a != NULL);
  va_list ap;
  va_start(ap, n_expected);
  got[0] = want[0] = '\0';
  for (int i = 0; i < n_expected; i++) {
    int e = va_arg(ap, int);
    if (i >= n || a == NULL || a[i] != e) ok = 0;
    if (wl < sizeof want - 16) wl += (size_t)snprintf(want + wl, sizeof want - wl, "%s%d", i ? "," : "", e);
  }
  va_end(ap);
  for (int i = 0; a != NULL && i < n; i++)
    if (gl < sizeof got - 16) gl += (size_t)snprintf(got + gl, sizeof got - gl, "%s%d", i ? "," : "", a[i]);
  if (ok) ctest_passed_++;
  else ctest_fail_(file, line, "%s is [%s], expected [%s]", what, got, want);
  return ok;
}
#define CTEST_NARGS_(...) (int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int))
#define CHECK_INTS(arr, n, ...) \
  ctest_ints_(__FILE__, __LINE__, #arr, (arr), (n), CTEST_NARGS_(__VA_ARGS__), __VA_ARGS__)

#define CTEST_SUMMARY()                                                   \
  (printf("%d passed, %d failed\n", ctest_passed_, ctest_failed_),       \
   fflush(stdout), ctest_failed_ ? 1 : 0)


/* The whole contents of a (tmp)file written so far, malloc'd. */
static char *ctest_slurp(FILE *f) __attribute__((unused));
static char *ctest_slurp(FILE *f) {
  fflush(f);
  long n = ftell(f);
  char *s = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
  rewind(f);
  if (n > 0 && fread(s, 1, (size_t)n, f) != (size_t)n) s[0] = '\0';
  return s;
}

/* How many times needle occurs in s. */
static int ctest_count(const char *s, const char *needle) __attribute__((unused));
static int ctest_count(const char *s, const char *needle) {
  int n = 0;
  for (const char *p = s; (p = strstr(p, needle)) != NULL; p++) n++;
  return n;
}

#endif
