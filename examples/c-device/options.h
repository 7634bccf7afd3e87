/* Command line of the example C device. */
#ifndef C_DEVICE_OPTIONS_H
#define C_DEVICE_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#define C_DEVICE_PATH_MAX 1024

typedef struct device_options {
  char host[256];
  uint16_t port;
  const char *certs_dir;
  const char *sn;
  const char *model;
  const char *firmware;
  const char *token;
  /** Directory of the record file <SN>.record (default: the working directory). */
  const char *data_dir;
  /** Order to query after every login (NULL: the last order, after a reconnect). */
  const char *query;
  uint32_t heartbeat_ms;
  uint32_t backoff_initial_ms;
  uint32_t backoff_max_ms;
  uint32_t coin_ms;
  /** Resolved certificate files (cert_file[0] == '\0': no client certificate). */
  char ca_file[C_DEVICE_PATH_MAX];
  char cert_file[C_DEVICE_PATH_MAX];
  char key_file[C_DEVICE_PATH_MAX];
  char record_file[C_DEVICE_PATH_MAX];
} device_options;

extern const char DEVICE_USAGE[];

/**
 * Parses argv into o. Returns 0 when the device should run, 1 after --help (printed), 2 on a usage
 * error (printed to stderr with the usage).
 */
int parse_device_options(int argc, char **argv, device_options *o);

#endif
