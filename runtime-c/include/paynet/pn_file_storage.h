/*
 * pn_storage on a POSIX file (Linux devices): pread/pwrite, every write followed by fdatasync so
 * it survives a power cut, and an exclusive lock so that two processes never share one record
 * (each would run the other's commands again).
 */
#ifndef PAYNET_PN_FILE_STORAGE_H
#define PAYNET_PN_FILE_STORAGE_H

#include "pn_record.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pn_file_storage {
  int fd;
} pn_file_storage;

/**
 * Opens (creating it if needed) the record file at path and locks it. PN_ERR_STORAGE when it
 * cannot be opened or another process holds it (errno tells which).
 */
pn_status pn_file_storage_open(pn_file_storage *fs, const char *path);
/** The pn_storage calls over this file. */
pn_storage pn_file_storage_interface(pn_file_storage *fs);
/** Unlocks and closes the file. */
void pn_file_storage_close(pn_file_storage *fs);

#ifdef __cplusplus
}
#endif

#endif /* PAYNET_PN_FILE_STORAGE_H */
