/* pn_storage on a POSIX file (see pn_file_storage.h). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include "paynet/pn_file_storage.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* A new file's directory entry must be durable too, or the file may vanish with a power cut. */
static void sync_parent_directory(const char *path) {
  char copy[PATH_MAX];
  size_t len = strlen(path);
  if (len >= sizeof copy) return;
  memcpy(copy, path, len + 1);
  int dir = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return;
  (void)fsync(dir);
  (void)close(dir);
}

pn_status pn_file_storage_open(pn_file_storage *fs, const char *path) {
  fs->fd = -1;
  bool existed = access(path, F_OK) == 0;
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return PN_ERR_STORAGE;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int saved = errno;
    (void)close(fd);
    errno = saved;
    return PN_ERR_STORAGE;
  }
  if (!existed) sync_parent_directory(path);
  fs->fd = fd;
  return PN_OK;
}

static pn_status file_read(void *ctx, uint32_t offset, uint8_t *buf, size_t len) {
  pn_file_storage *fs = ctx;
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fs->fd, buf + done, len - done, (off_t)offset + (off_t)done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return PN_ERR_STORAGE;
    }
    if (n == 0) {
      /* Past the end of the file: never written, reads as empty. */
      memset(buf + done, 0, len - done);
      return PN_OK;
    }
    done += (size_t)n;
  }
  return PN_OK;
}

static pn_status file_write(void *ctx, uint32_t offset, const uint8_t *buf, size_t len) {
  pn_file_storage *fs = ctx;
  size_t done = 0;
  while (done < len) {
    ssize_t n = pwrite(fs->fd, buf + done, len - done, (off_t)offset + (off_t)done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return PN_ERR_STORAGE;
    }
    done += (size_t)n;
  }
  return fdatasync(fs->fd) == 0 ? PN_OK : PN_ERR_STORAGE;
}

pn_storage pn_file_storage_interface(pn_file_storage *fs) {
  pn_storage storage = {fs, file_read, file_write};
  return storage;
}

void pn_file_storage_close(pn_file_storage *fs) {
  if (fs->fd >= 0) (void)close(fs->fd);
  fs->fd = -1;
}
