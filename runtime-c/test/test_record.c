/*
 * Unit tests of the record of executed commands on in-memory storage: a command runs once and its
 * repeats are answered, the record survives a reboot (running commands come back interrupted), a
 * torn write keeps the previous copy, a full record reuses the oldest finished command and never a
 * running one, failing storage refuses the command. Built and run by test/c/runtime.test.ts under
 * ASan/UBSan and under valgrind.
 */
#include <paynet/pn_record.h>

#include "check.h"
#include "fakes.h"

/* ---- record ---------------------------------------------------------------------------------------- */

#define KEY_MAX 16
#define REPLY_MAX 24
#define CAPACITY 3

typedef struct record_rig {
  pn_record record;
  pn_record_entry entries[CAPACITY];
  uint8_t arena[PN_RECORD_ARENA_SIZE(CAPACITY, KEY_MAX, REPLY_MAX)];
} record_rig;

static pn_status open_record(record_rig *rr, memory_storage *storage) {
  return pn_record_open(&rr->record, rr->entries, rr->arena, CAPACITY, KEY_MAX, REPLY_MAX, memory_storage_of(storage));
}

static pn_claim claim(record_rig *rr, const char *key, uint32_t *index) {
  pn_claim result = PN_CLAIM_NEW;
  CHECK_EQ(pn_record_claim(&rr->record, 0x04, (const uint8_t *)key, strlen(key), index, &result), PN_OK);
  return result;
}

static void record_runs_a_command_once_and_answers_repeats(void) {
  static memory_storage storage;
  memset(&storage, 0, sizeof storage);
  static record_rig rr;
  CHECK_EQ(open_record(&rr, &storage), PN_OK);
  uint32_t index, again;
  CHECK_EQ(claim(&rr, "A-1", &index), PN_CLAIM_NEW);
  CHECK_EQ(storage.writes, 1); /* durable before the command runs */
  CHECK_EQ(claim(&rr, "A-1", &again), PN_CLAIM_DUPLICATE);
  CHECK_EQ(again, index);
  uint8_t type;
  const uint8_t *reply;
  size_t len;
  pn_record_reply(&rr.record, index, &type, &reply, &len);
  CHECK_EQ(type, 0); /* nothing to answer with yet */
  CHECK_EQ(pn_record_update(&rr.record, index, PN_COMMAND_RUNNING, 0x84, (const uint8_t *)"accepted", 8), PN_OK);
  CHECK_EQ(pn_record_update(&rr.record, index, PN_COMMAND_DONE, 0x84, (const uint8_t *)"done", 4), PN_OK);
  pn_record_reply(&rr.record, index, &type, &reply, &len);
  CHECK(type == 0x84 && len == 4 && memcmp(reply, "done", 4) == 0);
  /* The same value under another Type is another command. */
  pn_claim other;
  uint32_t other_index;
  CHECK_EQ(pn_record_claim(&rr.record, 0x06, (const uint8_t *)"A-1", 3, &other_index, &other), PN_OK);
  CHECK_EQ(other, PN_CLAIM_NEW);
  /* Empty and too long keys are refused. */
  CHECK_EQ(pn_record_claim(&rr.record, 0x04, (const uint8_t *)"", 0, &index, &other), PN_ERR_INVALID);
  CHECK_EQ(pn_record_claim(&rr.record, 0x04, (const uint8_t *)"0123456789abcdefX", 17, &index, &other), PN_ERR_INVALID);
}

static void record_survives_a_reboot_and_marks_running_commands_interrupted(void) {
  static memory_storage storage;
  memset(&storage, 0, sizeof storage);
  static record_rig before, after;
  CHECK_EQ(open_record(&before, &storage), PN_OK);
  uint32_t done, running;
  CHECK_EQ(claim(&before, "DONE-1", &done), PN_CLAIM_NEW);
  CHECK_EQ(pn_record_update(&before.record, done, PN_COMMAND_DONE, 0x84, (const uint8_t *)"ok", 2), PN_OK);
  CHECK_EQ(claim(&before, "RUN-1", &running), PN_CLAIM_NEW);
  CHECK_EQ(pn_record_update(&before.record, running, PN_COMMAND_RUNNING, 0x84, (const uint8_t *)"half", 4), PN_OK);
  /* Reboot: a new record over the same storage. */
  CHECK_EQ(open_record(&after, &storage), PN_OK);
  CHECK_EQ(pn_record_count(&after.record), 2);
  uint32_t index;
  CHECK_EQ(claim(&after, "DONE-1", &index), PN_CLAIM_DUPLICATE);
  CHECK_EQ(claim(&after, "RUN-1", &index), PN_CLAIM_INTERRUPTED);
  CHECK_EQ(pn_record_update(&after.record, index, PN_COMMAND_FAILED, 0x84, (const uint8_t *)"failed", 6), PN_OK);
  CHECK_EQ(claim(&after, "RUN-1", &index), PN_CLAIM_DUPLICATE);
  CHECK_EQ(pn_record_state(&after.record, index), PN_COMMAND_FAILED);
}

static void a_torn_write_keeps_the_previous_copy(void) {
  static memory_storage storage;
  memset(&storage, 0, sizeof storage);
  static record_rig rr, rebooted;
  CHECK_EQ(open_record(&rr, &storage), PN_OK);
  uint32_t index;
  CHECK_EQ(claim(&rr, "T-1", &index), PN_CLAIM_NEW);
  CHECK_EQ(pn_record_update(&rr.record, index, PN_COMMAND_RUNNING, 0x84, (const uint8_t *)"step1", 5), PN_OK);
  storage.tear_after = 10; /* the power goes while the next copy is written */
  CHECK_EQ(pn_record_update(&rr.record, index, PN_COMMAND_DONE, 0x84, (const uint8_t *)"final", 5), PN_ERR_STORAGE);
  CHECK_EQ(open_record(&rebooted, &storage), PN_OK);
  CHECK_EQ(claim(&rebooted, "T-1", &index), PN_CLAIM_INTERRUPTED);
  uint8_t type;
  const uint8_t *reply;
  size_t len;
  pn_record_reply(&rebooted.record, index, &type, &reply, &len);
  CHECK(len == 5 && memcmp(reply, "step1", 5) == 0);
  /* Every byte flipped in a slot is caught by its CRC: the slot reads as empty, not as garbage. */
  static memory_storage flipped;
  memcpy(&flipped, &storage, sizeof storage);
  size_t slot = PN_RECORD_SLOT_SIZE(KEY_MAX, REPLY_MAX);
  for (size_t i = 0; i < 2 * slot; i++) flipped.bytes[i] ^= 0x01;
  static record_rig corrupt;
  CHECK_EQ(open_record(&corrupt, &flipped), PN_OK);
  CHECK_EQ(pn_record_count(&corrupt.record), 0);
}

static void a_full_record_reuses_the_oldest_finished_command_never_a_running_one(void) {
  static memory_storage storage;
  memset(&storage, 0, sizeof storage);
  static record_rig rr;
  CHECK_EQ(open_record(&rr, &storage), PN_OK);
  uint32_t a, b, c, d;
  CHECK_EQ(claim(&rr, "A", &a), PN_CLAIM_NEW);
  CHECK_EQ(claim(&rr, "B", &b), PN_CLAIM_NEW);
  CHECK_EQ(claim(&rr, "C", &c), PN_CLAIM_NEW);
  pn_claim result;
  CHECK_EQ(pn_record_claim(&rr.record, 0x04, (const uint8_t *)"D", 1, &d, &result), PN_ERR_RECORD_FULL);
  CHECK_EQ(pn_record_update(&rr.record, b, PN_COMMAND_DONE, 0x84, NULL, 0), PN_OK);
  CHECK_EQ(pn_record_update(&rr.record, a, PN_COMMAND_DONE, 0x84, NULL, 0), PN_OK);
  /* B finished first (older write): D takes its place; A and C stay. */
  CHECK_EQ(claim(&rr, "D", &d), PN_CLAIM_NEW);
  CHECK_EQ(d, b);
  CHECK_EQ(claim(&rr, "A", &a), PN_CLAIM_DUPLICATE);
  CHECK_EQ(claim(&rr, "C", &c), PN_CLAIM_DUPLICATE);
  CHECK_EQ(claim(&rr, "B", &b), PN_CLAIM_NEW);
}

static void a_failing_storage_refuses_the_command(void) {
  static memory_storage storage;
  memset(&storage, 0, sizeof storage);
  static record_rig rr;
  CHECK_EQ(open_record(&rr, &storage), PN_OK);
  storage.fail_writes = true;
  uint32_t index;
  pn_claim result;
  CHECK_EQ(pn_record_claim(&rr.record, 0x04, (const uint8_t *)"X", 1, &index, &result), PN_ERR_STORAGE);
  storage.fail_writes = false;
  CHECK_EQ(claim(&rr, "X", &index), PN_CLAIM_NEW);
}

int main(void) {
  RUN(record_runs_a_command_once_and_answers_repeats);
  RUN(record_survives_a_reboot_and_marks_running_commands_interrupted);
  RUN(a_torn_write_keeps_the_previous_copy);
  RUN(a_full_record_reuses_the_oldest_finished_command_never_a_running_one);
  RUN(a_failing_storage_refuses_the_command);
  CHECK_DONE();
}
