/* The durable record of executed commands (see pn_record.h). */
#include "paynet/pn_record.h"

#include <string.h>

#define SLOT_VERSION 1u

static size_t slot_size(const pn_record *r) {
  return PN_RECORD_SLOT_SIZE((size_t)r->key_max, (size_t)r->reply_max);
}

static uint8_t *key_of(const pn_record *r, uint32_t index) {
  return r->arena + (size_t)index * ((size_t)r->key_max + r->reply_max);
}

static uint8_t *reply_of(const pn_record *r, uint32_t index) {
  return key_of(r, index) + r->key_max;
}

static uint8_t *scratch(const pn_record *r) {
  return r->arena + (size_t)r->capacity * ((size_t)r->key_max + r->reply_max);
}

static uint32_t slot_offset(const pn_record *r, uint32_t index, uint8_t slot) {
  return (uint32_t)(((size_t)index * 2u + slot) * slot_size(r));
}

uint32_t pn_crc32(uint32_t crc, const uint8_t *data, size_t len) {
  /* Bitwise, without a table: a few hundred bytes per command write, and no 1 KiB of flash. */
  crc = ~crc;
  for (size_t i = 0; i < len; i++) {
    crc ^= data[i];
    for (unsigned bit = 0; bit < 8; bit++) crc = (crc >> 1) ^ (0xEDB88320u & (uint32_t)(-(int32_t)(crc & 1u)));
  }
  return ~crc;
}

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v) {
  for (unsigned i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p) {
  return (uint16_t)(p[0] | (uint16_t)(p[1] << 8));
}

static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Parses the slot in scratch; false when it is empty, torn or not ours. */
static bool parse_slot(const pn_record *r, pn_record_entry *out, const uint8_t **key, const uint8_t **reply) {
  const uint8_t *s = scratch(r);
  size_t size = slot_size(r);
  if (s[0] != 'P' || s[1] != 'N' || s[2] != SLOT_VERSION) return false;
  if (get32(s + size - PN_RECORD_SLOT_TRAILER) != pn_crc32(0, s, size - PN_RECORD_SLOT_TRAILER)) return false;
  uint8_t state = s[3];
  uint16_t key_len = get16(s + 10);
  uint16_t reply_len = get16(s + 12);
  if (state < PN_COMMAND_RUNNING || state > PN_COMMAND_FAILED || key_len == 0 || key_len > r->key_max ||
      reply_len > r->reply_max) {
    return false;
  }
  out->seq = get32(s + 4);
  out->state = state;
  out->type = s[8];
  out->reply_type = s[9];
  out->key_len = key_len;
  out->reply_len = reply_len;
  *key = s + PN_RECORD_SLOT_HEADER;
  *reply = s + PN_RECORD_SLOT_HEADER + r->key_max;
  return true;
}

pn_status pn_record_open(pn_record *r, pn_record_entry *entries, uint8_t *arena, uint32_t capacity,
                         uint16_t key_max, uint16_t reply_max, pn_storage storage) {
  if (entries == NULL || arena == NULL || capacity == 0 || key_max == 0 || storage.read == NULL ||
      storage.write == NULL) {
    return PN_ERR_INVALID;
  }
  r->entries = entries;
  r->arena = arena;
  r->capacity = capacity;
  r->key_max = key_max;
  r->reply_max = reply_max;
  r->storage = storage;
  r->next_seq = 1;
  for (uint32_t i = 0; i < capacity; i++) {
    pn_record_entry *entry = &entries[i];
    memset(entry, 0, sizeof *entry);
    entry->slot = 1; /* the first write of a fresh entry goes to slot 0 */
    for (uint8_t slot = 0; slot < 2; slot++) {
      if (storage.read(storage.ctx, slot_offset(r, i, slot), scratch(r), slot_size(r)) != PN_OK) {
        return PN_ERR_STORAGE;
      }
      pn_record_entry found;
      const uint8_t *key;
      const uint8_t *reply;
      if (!parse_slot(r, &found, &key, &reply)) continue;
      if (entry->state != PN_COMMAND_FREE && found.seq <= entry->seq) continue;
      found.slot = slot;
      /* Running when read back: the device went down while it ran. */
      found.interrupted = found.state == PN_COMMAND_RUNNING;
      *entry = found;
      memcpy(key_of(r, i), key, found.key_len);
      memcpy(reply_of(r, i), reply, found.reply_len);
      if (found.seq >= r->next_seq) r->next_seq = found.seq + 1u;
    }
  }
  return PN_OK;
}

/* Writes entry `index` as `next` (key and reply already where key_of/reply_of point, or given). */
static pn_status write_entry(pn_record *r, uint32_t index, pn_record_entry next, const uint8_t *key,
                             const uint8_t *reply) {
  uint8_t *s = scratch(r);
  size_t size = slot_size(r);
  memset(s, 0, size);
  s[0] = 'P';
  s[1] = 'N';
  s[2] = SLOT_VERSION;
  s[3] = next.state;
  next.seq = r->next_seq;
  put32(s + 4, next.seq);
  s[8] = next.type;
  s[9] = next.reply_type;
  put16(s + 10, next.key_len);
  put16(s + 12, next.reply_len);
  memcpy(s + PN_RECORD_SLOT_HEADER, key, next.key_len);
  if (next.reply_len > 0) memcpy(s + PN_RECORD_SLOT_HEADER + r->key_max, reply, next.reply_len);
  put32(s + size - PN_RECORD_SLOT_TRAILER, pn_crc32(0, s, size - PN_RECORD_SLOT_TRAILER));
  /* Into the slot not holding the current copy: a torn write leaves that copy readable. */
  next.slot = (uint8_t)(r->entries[index].slot ^ 1u);
  if (r->storage.write(r->storage.ctx, slot_offset(r, index, next.slot), s, size) != PN_OK) return PN_ERR_STORAGE;
  r->next_seq++;
  memmove(key_of(r, index), key, next.key_len);
  if (next.reply_len > 0) memmove(reply_of(r, index), reply, next.reply_len);
  next.interrupted = false;
  r->entries[index] = next;
  return PN_OK;
}

pn_status pn_record_claim(pn_record *r, uint8_t type, const uint8_t *key, size_t key_len, uint32_t *index,
                          pn_claim *claim) {
  if (key_len == 0 || key_len > r->key_max) return PN_ERR_INVALID;
  uint32_t free_index = r->capacity;
  uint32_t oldest_done = r->capacity;
  for (uint32_t i = 0; i < r->capacity; i++) {
    const pn_record_entry *entry = &r->entries[i];
    if (entry->state == PN_COMMAND_FREE) {
      if (free_index == r->capacity) free_index = i;
      continue;
    }
    if (entry->type == type && entry->key_len == key_len && memcmp(key_of(r, i), key, key_len) == 0) {
      *index = i;
      *claim = entry->interrupted ? PN_CLAIM_INTERRUPTED : PN_CLAIM_DUPLICATE;
      return PN_OK;
    }
    if (entry->state != PN_COMMAND_RUNNING &&
        (oldest_done == r->capacity || entry->seq < r->entries[oldest_done].seq)) {
      oldest_done = i;
    }
  }
  uint32_t target = free_index != r->capacity ? free_index : oldest_done;
  if (target == r->capacity) return PN_ERR_RECORD_FULL;
  pn_record_entry next;
  memset(&next, 0, sizeof next);
  next.state = PN_COMMAND_RUNNING;
  next.type = type;
  next.key_len = (uint16_t)key_len;
  pn_status status = write_entry(r, target, next, key, NULL);
  if (status != PN_OK) return status;
  *index = target;
  *claim = PN_CLAIM_NEW;
  return PN_OK;
}

pn_status pn_record_update(pn_record *r, uint32_t index, pn_command_state state, uint8_t reply_type,
                           const uint8_t *reply, size_t reply_len) {
  if (index >= r->capacity || r->entries[index].state == PN_COMMAND_FREE || state == PN_COMMAND_FREE ||
      reply_len > r->reply_max) {
    return PN_ERR_INVALID;
  }
  pn_record_entry next = r->entries[index];
  next.state = (uint8_t)state;
  next.reply_type = reply_type;
  next.reply_len = (uint16_t)reply_len;
  return write_entry(r, index, next, key_of(r, index), reply);
}

void pn_record_reply(const pn_record *r, uint32_t index, uint8_t *reply_type, const uint8_t **reply,
                     size_t *reply_len) {
  const pn_record_entry *entry = &r->entries[index];
  *reply_type = entry->reply_type;
  *reply = reply_of(r, index);
  *reply_len = entry->reply_len;
}

pn_command_state pn_record_state(const pn_record *r, uint32_t index) {
  return (pn_command_state)r->entries[index].state;
}

uint32_t pn_record_count(const pn_record *r) {
  uint32_t count = 0;
  for (uint32_t i = 0; i < r->capacity; i++) count += r->entries[i].state != PN_COMMAND_FREE;
  return count;
}
