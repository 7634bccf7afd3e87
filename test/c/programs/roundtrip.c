/*
 * Round-trip harness of a generated C SDK: each stdin line "full.Name HEX" is decoded with the
 * message's generated decoder, encoded again and printed as "HEX", or "ERR <status>" when the
 * decoder refuses it. Built per SDK with -DSDK_HEADER='"x.h"' -DSDK_MESSAGES=X_MESSAGES.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include SDK_HEADER

static char line[1u << 20];
static uint8_t input[1u << 19];
static uint8_t output[1u << 19];

static int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static void print_hex(const uint8_t *bytes, size_t n) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    putchar(digits[bytes[i] >> 4]);
    putchar(digits[bytes[i] & 15]);
  }
  putchar('\n');
}

int main(void) {
  while (fgets(line, sizeof line, stdin) != NULL) {
    char *space = strchr(line, ' ');
    if (space == NULL) {
      puts("ERR no message name");
      continue;
    }
    *space = '\0';
    const char *name = line;
    const char *hex = space + 1;
    size_t n = 0;
    while (nibble(hex[2 * n]) >= 0 && nibble(hex[2 * n + 1]) >= 0 && n < sizeof input) {
      input[n] = (uint8_t)(nibble(hex[2 * n]) * 16 + nibble(hex[2 * n + 1]));
      n++;
    }
    int found = 0;
#define ROUND_TRIP(T, NAME)                                                              \
  if (!found && strcmp(name, NAME) == 0) {                                               \
    static T m;                                                                          \
    found = 1;                                                                           \
    pn_status status = T##_decode(input, n, &m);                                         \
    if (status != PN_OK) {                                                               \
      printf("ERR %s\n", pn_status_name(status));                                        \
    } else {                                                                             \
      pn_writer w;                                                                       \
      pn_writer_init(&w, output, sizeof output);                                         \
      status = T##_encode(&m, &w);                                                       \
      if (status != PN_OK) printf("ERR encode %s\n", pn_status_name(status));            \
      else if (T##_size(&m) != w.len) printf("ERR size %zu != %zu\n", T##_size(&m), w.len); \
      else print_hex(output, w.len);                                                     \
    }                                                                                    \
  }
    SDK_MESSAGES(ROUND_TRIP)
    if (!found) printf("ERR unknown message %s\n", name);
    fflush(stdout);
  }
  return 0;
}
