/*
 * The device's record of executed commands: a command (message Type + correlation value, e.g.
 * CoinCommand + order_id) is claimed in durable storage *before* it runs, and every reply it sends
 * is recorded before it goes out. So:
 *   - a command seen before is never run again: it is answered with its last recorded reply;
 *   - a command that was running when the device lost power is, after the reboot, never run again
 *     either: it is answered with the protocol's failure reply ("interrupted, reconcile manually").
 *
 * Storage is a flat byte space behind two calls (pn_storage): a file on Linux (pn_file_storage.h),
 * a flash or EEPROM region on a microcontroller. Each record entry has two slots there and every
 * write goes to the older one, with a sequence number and a CRC-32: a write torn by a power cut
 * leaves the previous copy intact. The capacity is fixed; a new command reuses the slot of the
 * finished command recorded longest ago, never one still running.
 */
#ifndef PAYNET_PN_RECORD_H
#define PAYNET_PN_RECORD_H

#include "pn.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Durable byte storage. Both calls return PN_OK or PN_ERR_STORAGE. */
typedef struct pn_storage {
  void *ctx;
  /** Reads len bytes at offset; bytes never written read as 0xFF or 0x00 (either is "empty"). */
  pn_status (*read)(void *ctx, uint32_t offset, uint8_t *buf, size_t len);
  /** Writes len bytes at offset; they must be durable (survive a power cut) when PN_OK returns. */
  pn_status (*write)(void *ctx, uint32_t offset, const uint8_t *buf, size_t len);
} pn_storage;

typedef enum pn_command_state {
  PN_COMMAND_FREE = 0,
  /** Claimed: running, or (after a reboot) interrupted while running. */
  PN_COMMAND_RUNNING = 1,
  /** Ended with a final reply. */
  PN_COMMAND_DONE = 2,
  /** Ended without completing (interrupted by a reboot, or failed): its reply is the failure. */
  PN_COMMAND_FAILED = 3
} pn_command_state;

/** Fixed part of a slot: magic, version, state, seq, Types, lengths; then key, reply, CRC-32. */
#define PN_RECORD_SLOT_HEADER 16u
#define PN_RECORD_SLOT_TRAILER 4u
/** Bytes of one slot for keys up to key_max and replies up to reply_max bytes. */
#define PN_RECORD_SLOT_SIZE(key_max, reply_max) \
  (PN_RECORD_SLOT_HEADER + (key_max) + (reply_max) + PN_RECORD_SLOT_TRAILER)
/** Storage bytes a record of `capacity` commands needs (two slots per command). */
#define PN_RECORD_STORAGE_SIZE(capacity, key_max, reply_max) \
  (2u * (capacity) * PN_RECORD_SLOT_SIZE(key_max, reply_max))

/** One command in memory (the latest valid copy of its two slots). */
typedef struct pn_record_entry {
  uint32_t seq;
  uint8_t state;
  uint8_t type;
  uint8_t reply_type;
  /** Which of the two slots holds this copy (the next write goes to the other). */
  uint8_t slot;
  /** Came from storage as running: interrupted by a reboot, not answered yet. */
  bool interrupted;
  uint16_t key_len;
  uint16_t reply_len;
} pn_record_entry;

/**
 * The record. Caller-owned memory: `entries` (capacity of them) and `arena` holding keys and
 * replies (capacity * (key_max + reply_max) bytes) plus one slot of scratch (PN_RECORD_SLOT_SIZE).
 */
typedef struct pn_record {
  pn_record_entry *entries;
  uint8_t *arena;
  uint32_t capacity;
  uint16_t key_max;
  uint16_t reply_max;
  pn_storage storage;
  uint32_t next_seq;
} pn_record;

/** Bytes of arena for a record of capacity commands. */
#define PN_RECORD_ARENA_SIZE(capacity, key_max, reply_max) \
  ((capacity) * ((key_max) + (reply_max)) + PN_RECORD_SLOT_SIZE(key_max, reply_max))

/** Outcome of pn_record_claim. */
typedef enum pn_claim {
  /** First time: recorded as running; run it. */
  PN_CLAIM_NEW = 0,
  /** Seen before (running or ended): do not run; answer with pn_record_reply if it has one. */
  PN_CLAIM_DUPLICATE = 1,
  /** It was running when the device went down: do not run; answer with the failure reply. */
  PN_CLAIM_INTERRUPTED = 2
} pn_claim;

/**
 * Loads the record from storage. Commands found running are marked interrupted. PN_ERR_STORAGE
 * when storage cannot be read (nothing may run then: a command might run twice).
 */
pn_status pn_record_open(pn_record *r, pn_record_entry *entries, uint8_t *arena, uint32_t capacity,
                         uint16_t key_max, uint16_t reply_max, pn_storage storage);
/**
 * Looks up (type, key) and claims it when new (durably written as running before this returns).
 * *index names the entry for pn_record_update / pn_record_reply. PN_ERR_INVALID for an empty or
 * too long key; PN_ERR_RECORD_FULL when every slot holds a running command; PN_ERR_STORAGE.
 */
pn_status pn_record_claim(pn_record *r, uint8_t type, const uint8_t *key, size_t key_len, uint32_t *index,
                          pn_claim *claim);
/**
 * Records `reply` (reply_type + payload) as the command's latest reply and its new state (RUNNING
 * while in progress, DONE or FAILED when it ended). Durable before it returns: send the reply
 * only after PN_OK.
 */
pn_status pn_record_update(pn_record *r, uint32_t index, pn_command_state state, uint8_t reply_type,
                           const uint8_t *reply, size_t reply_len);
/** The latest recorded reply of an entry (reply_type 0: none yet). */
void pn_record_reply(const pn_record *r, uint32_t index, uint8_t *reply_type, const uint8_t **reply,
                     size_t *reply_len);
pn_command_state pn_record_state(const pn_record *r, uint32_t index);
/** Commands currently recorded (any state). */
uint32_t pn_record_count(const pn_record *r);
/** CRC-32 (IEEE, as zlib) of data, continuing from crc (0 to start). */
uint32_t pn_crc32(uint32_t crc, const uint8_t *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* PAYNET_PN_RECORD_H */
