/* A minimal test harness for the C runtime's tests: CHECK macros and a runner printing one line per test. */
#ifndef PN_TEST_CHECK_H
#define PN_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures = 0;
static int check_tests = 0;

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
      check_failures++;                                                          \
    }                                                                            \
  } while (0)

#define CHECK_EQ(actual, expected)                                                                   \
  do {                                                                                               \
    long long check_a_ = (long long)(actual), check_e_ = (long long)(expected);                      \
    if (check_a_ != check_e_) {                                                                      \
      fprintf(stderr, "%s:%d: %s is %lld, expected %lld\n", __FILE__, __LINE__, #actual, check_a_, check_e_); \
      check_failures++;                                                                              \
    }                                                                                                \
  } while (0)

#define RUN(test)                                  \
  do {                                             \
    int before_ = check_failures;                  \
    test();                                        \
    check_tests++;                                 \
    printf("%s %s\n", check_failures == before_ ? "ok" : "FAIL", #test); \
  } while (0)

#define CHECK_DONE()                                                             \
  do {                                                                           \
    printf("%d tests, %d failed checks\n", check_tests, check_failures);         \
    return check_failures == 0 ? 0 : 1;                                          \
  } while (0)

#endif
