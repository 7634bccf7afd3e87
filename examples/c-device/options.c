/* Command line of the example C device (see options.h). */
#define _POSIX_C_SOURCE 200809L
#include "options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char DEVICE_USAGE[] =
    "usage: c-device --connect HOST:PORT --certs DIR --sn SN [options]\n"
    "\n"
    "  --connect HOST:PORT       paynetd address\n"
    "  --certs DIR               trusts DIR/ca.crt; presents DIR/<SN>.crt + .key, else DIR/device.crt + .key,\n"
    "                            when present (mTLS)\n"
    "  --sn SN                   device serial number (the certificate's CN under mTLS)\n"
    "  --heartbeat SECONDS       Ping interval (default 60)\n"
    "  --model M --firmware F    sent in RegisterReq (default paybox-c, 1.0.0)\n"
    "  --token T                 login token (default demo-token)\n"
    "  --data DIR                where the record of executed commands lives: DIR/<SN>.record (default .)\n"
    "  --backoff-initial SECONDS first reconnect delay (default 1)\n"
    "  --backoff-max SECONDS     longest reconnect delay (default 64)\n"
    "  --coin-ms MS              time the coin mechanism takes per coin (default 300)\n"
    "  --query ORDER_ID          query this order after every login\n"
    "  --help                    show this help\n";

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "c-device: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n\n%s", DEVICE_USAGE);
  return 2;
}

/* Seconds (decimals allowed) as milliseconds; -1 when not a number >= 0. */
static long parse_ms(const char *text, double scale) {
  char *end = NULL;
  errno = 0;
  double value = strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || value < 0 || value * scale > 86400000.0) return -1;
  return (long)(value * scale + 0.5);
}

static int parse_address(const char *text, device_options *o) {
  const char *colon = strrchr(text, ':');
  if (colon == NULL || colon == text || (size_t)(colon - text) >= sizeof o->host) return -1;
  char *end = NULL;
  long port = strtol(colon + 1, &end, 10);
  if (end == colon + 1 || *end != '\0' || port < 1 || port > 65535) return -1;
  size_t host_len = (size_t)(colon - text);
  const char *host = text;
  if (host[0] == '[' && host[host_len - 1] == ']') {
    host++;
    host_len -= 2;
  }
  memcpy(o->host, host, host_len);
  o->host[host_len] = '\0';
  o->port = (uint16_t)port;
  return 0;
}

static bool readable(const char *path) {
  return access(path, R_OK) == 0;
}

static int join(char *out, const char *dir, const char *name, const char *suffix) {
  int n = snprintf(out, C_DEVICE_PATH_MAX, "%s/%s%s", dir, name, suffix);
  return n < 0 || n >= C_DEVICE_PATH_MAX ? -1 : 0;
}

int parse_device_options(int argc, char **argv, device_options *o) {
  memset(o, 0, sizeof *o);
  o->model = "paybox-c";
  o->firmware = "1.0.0";
  o->token = "demo-token";
  o->data_dir = ".";
  o->heartbeat_ms = 60000;
  o->backoff_initial_ms = 1000;
  o->backoff_max_ms = 64000;
  o->coin_ms = 300;
  const char *connect = NULL;
  for (int i = 1; i < argc; i++) {
    const char *flag = argv[i];
    if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0) {
      fputs(DEVICE_USAGE, stdout);
      return 1;
    }
    if (i + 1 >= argc) return usage_error("%s needs a value", flag);
    const char *value = argv[++i];
    long ms;
    if (strcmp(flag, "--connect") == 0) connect = value;
    else if (strcmp(flag, "--certs") == 0) o->certs_dir = value;
    else if (strcmp(flag, "--sn") == 0) o->sn = value;
    else if (strcmp(flag, "--model") == 0) o->model = value;
    else if (strcmp(flag, "--firmware") == 0) o->firmware = value;
    else if (strcmp(flag, "--token") == 0) o->token = value;
    else if (strcmp(flag, "--data") == 0) o->data_dir = value;
    else if (strcmp(flag, "--query") == 0) o->query = value;
    else if (strcmp(flag, "--heartbeat") == 0) {
      if ((ms = parse_ms(value, 1000.0)) <= 0) return usage_error("--heartbeat: expected seconds > 0, got %s", value);
      o->heartbeat_ms = (uint32_t)ms;
    } else if (strcmp(flag, "--backoff-initial") == 0) {
      if ((ms = parse_ms(value, 1000.0)) <= 0) return usage_error("--backoff-initial: expected seconds > 0, got %s", value);
      o->backoff_initial_ms = (uint32_t)ms;
    } else if (strcmp(flag, "--backoff-max") == 0) {
      if ((ms = parse_ms(value, 1000.0)) <= 0) return usage_error("--backoff-max: expected seconds > 0, got %s", value);
      o->backoff_max_ms = (uint32_t)ms;
    } else if (strcmp(flag, "--coin-ms") == 0) {
      if ((ms = parse_ms(value, 1.0)) < 0) return usage_error("--coin-ms: expected milliseconds, got %s", value);
      o->coin_ms = (uint32_t)ms;
    } else {
      return usage_error("unknown option %s", flag);
    }
  }
  if (connect == NULL) return usage_error("%s", "--connect HOST:PORT is required");
  if (parse_address(connect, o) != 0) return usage_error("--connect: expected HOST:PORT, got %s", connect);
  if (o->certs_dir == NULL) return usage_error("%s", "--certs DIR is required");
  if (o->sn == NULL || o->sn[0] == '\0') return usage_error("%s", "--sn SN is required");
  if (strchr(o->sn, '/') != NULL) return usage_error("--sn must not contain '/', got %s", o->sn);
  if (o->backoff_max_ms < o->backoff_initial_ms) return usage_error("%s", "--backoff-max must not be below --backoff-initial");
  if (join(o->ca_file, o->certs_dir, "ca", ".crt") != 0 || join(o->record_file, o->data_dir, o->sn, ".record") != 0) {
    return usage_error("%s", "paths too long");
  }
  /* The device's own certificate first, then the directory's default one. */
  char cert[C_DEVICE_PATH_MAX], key[C_DEVICE_PATH_MAX];
  if (join(cert, o->certs_dir, o->sn, ".crt") == 0 && join(key, o->certs_dir, o->sn, ".key") == 0 && readable(cert) &&
      readable(key)) {
    memcpy(o->cert_file, cert, sizeof cert);
    memcpy(o->key_file, key, sizeof key);
  } else if (join(cert, o->certs_dir, "device", ".crt") == 0 && join(key, o->certs_dir, "device", ".key") == 0 &&
             readable(cert) && readable(key)) {
    memcpy(o->cert_file, cert, sizeof cert);
    memcpy(o->key_file, key, sizeof key);
  }
  return 0;
}
