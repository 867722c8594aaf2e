/* Instances, masks and framed TFRecords of one chunk, in C, with the bytes of the Python code.
 *
 * wwm/instances.py, wwm/masking.py and wwm/pipeline.py's encoding are the definition; this file does the same
 * steps in the same order with the same random draws, so a chunk gives byte-identical records either way
 * (tests/test_wwm_fast_records.py compares the two over random documents and every mode). What makes the
 * draws identical is that Python's random.Random is CPython's Mersenne Twister, reproduced here exactly:
 * its seeding from a str (version 2: the string's bytes followed by their SHA-512, read as one big-endian
 * integer, split into 32-bit words from the least significant end), random() from two 32-bit outputs, and
 * randint(a, b) = a + _randbelow(b - a + 1) by rejection of getrandbits(bit length) draws.
 *
 * One call, build(), takes a whole chunk as flat int32 arrays (token ids, word ids, sentence and document
 * offsets) plus one seed per random.Random the Python code would create, and returns the framed records in
 * the order the Python code creates the instances (the caller shuffles them with the chunk's shuffle seed).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ CPython's Mersenne Twister */

#define MT_N 624
#define MT_M 397

typedef struct {
  uint32_t state[MT_N];
  int index;
} Twister;

static void twister_init_genrand(Twister *mt, uint32_t seed) {
  mt->state[0] = seed;
  for (int i = 1; i < MT_N; i++) {
    mt->state[i] = 1812433253U * (mt->state[i - 1] ^ (mt->state[i - 1] >> 30)) + (uint32_t)i;
  }
  mt->index = MT_N;
}

static void twister_init_by_array(Twister *mt, const uint32_t *key, size_t key_length) {
  uint32_t *s = mt->state;
  twister_init_genrand(mt, 19650218U);
  size_t i = 1, j = 0;
  for (size_t k = MT_N > key_length ? MT_N : key_length; k; k--) {
    s[i] = (s[i] ^ ((s[i - 1] ^ (s[i - 1] >> 30)) * 1664525U)) + key[j] + (uint32_t)j;
    i++;
    j++;
    if (i >= MT_N) {
      s[0] = s[MT_N - 1];
      i = 1;
    }
    if (j >= key_length) j = 0;
  }
  for (size_t k = MT_N - 1; k; k--) {
    s[i] = (s[i] ^ ((s[i - 1] ^ (s[i - 1] >> 30)) * 1566083941U)) - (uint32_t)i;
    i++;
    if (i >= MT_N) {
      s[0] = s[MT_N - 1];
      i = 1;
    }
  }
  s[0] = 0x80000000U;
}

static uint32_t twister_next(Twister *mt) {
  static const uint32_t mag01[2] = {0U, 0x9908b0dfU};
  uint32_t *s = mt->state;
  uint32_t y;
  if (mt->index >= MT_N) {
    int k;
    for (k = 0; k < MT_N - MT_M; k++) {
      y = (s[k] & 0x80000000U) | (s[k + 1] & 0x7fffffffU);
      s[k] = s[k + MT_M] ^ (y >> 1) ^ mag01[y & 1U];
    }
    for (; k < MT_N - 1; k++) {
      y = (s[k] & 0x80000000U) | (s[k + 1] & 0x7fffffffU);
      s[k] = s[k + (MT_M - MT_N)] ^ (y >> 1) ^ mag01[y & 1U];
    }
    y = (s[MT_N - 1] & 0x80000000U) | (s[0] & 0x7fffffffU);
    s[MT_N - 1] = s[MT_M - 1] ^ (y >> 1) ^ mag01[y & 1U];
    mt->index = 0;
  }
  y = s[mt->index++];
  y ^= (y >> 11);
  y ^= (y << 7) & 0x9d2c5680U;
  y ^= (y << 15) & 0xefc60000U;
  y ^= (y >> 18);
  return y;
}

/* random.Random.random(): 53 bits from two outputs. */
static double twister_random(Twister *mt) {
  uint32_t a = twister_next(mt) >> 5, b = twister_next(mt) >> 6;
  return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

/* random.Random._randbelow(n) for 0 < n < 2**32: getrandbits(n.bit_length()) until below n. */
static uint32_t twister_below(Twister *mt, uint32_t n) {
  int bits = 32 - __builtin_clz(n);
  uint32_t r = twister_next(mt) >> (32 - bits);
  while (r >= n) r = twister_next(mt) >> (32 - bits);
  return r;
}

/* random.Random(s) for a str s, given material = s.encode() + sha512(s.encode()).digest(). Returns 0, or -1
 * with MemoryError set. */
static int twister_seed(Twister *mt, const unsigned char *material, Py_ssize_t length) {
  while (length > 0 && material[0] == 0) {
    material++;
    length--;
  }
  size_t key_length = length > 0 ? (size_t)(length + 3) / 4 : 1;
  uint32_t stack_key[64];
  uint32_t *key = key_length <= 64 ? stack_key : (uint32_t *)PyMem_Malloc(key_length * sizeof(uint32_t));
  if (key == NULL) {
    PyErr_NoMemory();
    return -1;
  }
  /* The integer's little-endian 32-bit words: byte t of the integer is material[length - 1 - t]. */
  memset(key, 0, key_length * sizeof(uint32_t));
  for (Py_ssize_t t = 0; t < length; t++) {
    key[t / 4] |= (uint32_t)material[length - 1 - t] << (8 * (t % 4));
  }
  twister_init_by_array(mt, key, key_length);
  if (key != stack_key) PyMem_Free(key);
  return 0;
}

/* ------------------------------------------------------------------ growable buffers */

typedef struct {
  int32_t *data;
  Py_ssize_t length, capacity;
} IntVector;

static int ints_reserve(IntVector *v, Py_ssize_t extra) {
  if (v->length + extra <= v->capacity) return 0;
  Py_ssize_t capacity = v->capacity ? v->capacity : 256;
  while (capacity < v->length + extra) capacity *= 2;
  int32_t *data = (int32_t *)PyMem_Realloc(v->data, (size_t)capacity * sizeof(int32_t));
  if (data == NULL) {
    PyErr_NoMemory();
    return -1;
  }
  v->data = data;
  v->capacity = capacity;
  return 0;
}

static int ints_extend(IntVector *v, const int32_t *values, Py_ssize_t count) {
  if (ints_reserve(v, count) < 0) return -1;
  memcpy(v->data + v->length, values, (size_t)count * sizeof(int32_t));
  v->length += count;
  return 0;
}

static int ints_append(IntVector *v, int32_t value) { return ints_extend(v, &value, 1); }

typedef struct {
  unsigned char *data;
  Py_ssize_t length, capacity;
} ByteBuffer;

static int bytes_reserve(ByteBuffer *b, Py_ssize_t extra) {
  if (b->length + extra <= b->capacity) return 0;
  Py_ssize_t capacity = b->capacity ? b->capacity : 4096;
  while (capacity < b->length + extra) capacity *= 2;
  unsigned char *data = (unsigned char *)PyMem_Realloc(b->data, (size_t)capacity);
  if (data == NULL) {
    PyErr_NoMemory();
    return -1;
  }
  b->data = data;
  b->capacity = capacity;
  return 0;
}

/* ------------------------------------------------------------------ protobuf and TFRecord framing */

static int varint_size(uint64_t value) {
  int size = 1;
  while (value >= 0x80) {
    value >>= 7;
    size++;
  }
  return size;
}

/* Writes a varint; the caller has reserved 10 bytes. Negative int64 values are their 64-bit two's complement. */
static void put_varint(ByteBuffer *b, uint64_t value) {
  while (value >= 0x80) {
    b->data[b->length++] = (unsigned char)(value | 0x80);
    value >>= 7;
  }
  b->data[b->length++] = (unsigned char)value;
}

/* One Features map entry {key: name, value: Feature{int64_list|float_list{packed values}}}; see
 * wwm/tfrecord.py for the tags. Exactly one of ints / floats is non-NULL. */
static int put_feature(ByteBuffer *b, PyObject *name, const int64_t *ints, const float *floats, Py_ssize_t count) {
  Py_ssize_t payload = 0;
  if (ints != NULL) {
    for (Py_ssize_t i = 0; i < count; i++) payload += varint_size((uint64_t)ints[i]);
  } else {
    payload = 4 * count;
  }
  Py_ssize_t name_length = PyBytes_GET_SIZE(name);
  Py_ssize_t inner = 1 + varint_size(payload) + payload;
  Py_ssize_t feature = 1 + varint_size(inner) + inner;
  Py_ssize_t entry = 1 + varint_size(name_length) + name_length + 1 + varint_size(feature) + feature;
  if (bytes_reserve(b, 1 + varint_size(entry) + entry) < 0) return -1;
  b->data[b->length++] = 0x0a; /* Features.feature */
  put_varint(b, entry);
  b->data[b->length++] = 0x0a; /* key */
  put_varint(b, name_length);
  memcpy(b->data + b->length, PyBytes_AS_STRING(name), (size_t)name_length);
  b->length += name_length;
  b->data[b->length++] = 0x12; /* value */
  put_varint(b, feature);
  b->data[b->length++] = ints != NULL ? 0x1a : 0x12; /* int64_list / float_list */
  put_varint(b, inner);
  b->data[b->length++] = 0x0a; /* packed value */
  put_varint(b, payload);
  if (ints != NULL) {
    for (Py_ssize_t i = 0; i < count; i++) put_varint(b, (uint64_t)ints[i]);
  } else {
    for (Py_ssize_t i = 0; i < count; i++) {
      uint32_t bits;
      memcpy(&bits, &floats[i], 4);
      for (int q = 0; q < 4; q++) b->data[b->length++] = (unsigned char)(bits >> (8 * q));
    }
  }
  return 0;
}

static uint32_t crc_table[8][256];

static void crc_init(void) {
  for (uint32_t n = 0; n < 256; n++) {
    uint32_t crc = n;
    for (int k = 0; k < 8; k++) crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78U : crc >> 1;
    crc_table[0][n] = crc;
  }
  for (uint32_t n = 0; n < 256; n++) {
    for (int t = 1; t < 8; t++) crc_table[t][n] = (crc_table[t - 1][n] >> 8) ^ crc_table[0][crc_table[t - 1][n] & 0xff];
  }
}

/* CRC-32C (Castagnoli), slicing by 8. */
static uint32_t crc32c(const unsigned char *data, Py_ssize_t length) {
  uint32_t crc = 0xffffffffU;
  while (length >= 8) {
    uint32_t low = crc ^ ((uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                          (uint32_t)data[3] << 24);
    crc = crc_table[7][low & 0xff] ^ crc_table[6][(low >> 8) & 0xff] ^ crc_table[5][(low >> 16) & 0xff] ^
          crc_table[4][low >> 24] ^ crc_table[3][data[4]] ^ crc_table[2][data[5]] ^ crc_table[1][data[6]] ^
          crc_table[0][data[7]];
    data += 8;
    length -= 8;
  }
  while (length-- > 0) crc = (crc >> 8) ^ crc_table[0][(crc ^ *data++) & 0xff];
  return crc ^ 0xffffffffU;
}

static uint32_t masked_crc(const unsigned char *data, Py_ssize_t length) {
  uint32_t crc = crc32c(data, length);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8U;
}

static void put_le(unsigned char *out, uint64_t value, int size) {
  for (int q = 0; q < size; q++) out[q] = (unsigned char)(value >> (8 * q));
}

/* The framed TFRecord of an Example whose serialized Features body is `body`: bytes object or NULL. */
static PyObject *framed_example(const ByteBuffer *body) {
  Py_ssize_t data_length = 1 + varint_size(body->length) + body->length;
  PyObject *record = PyBytes_FromStringAndSize(NULL, 8 + 4 + data_length + 4);
  if (record == NULL) return NULL;
  unsigned char *out = (unsigned char *)PyBytes_AS_STRING(record);
  put_le(out, (uint64_t)data_length, 8);
  put_le(out + 8, masked_crc(out, 8), 4);
  unsigned char *data = out + 12;
  ByteBuffer head = {data, 0, data_length};
  head.data[head.length++] = 0x0a; /* Example.features */
  put_varint(&head, body->length);
  memcpy(data + head.length, body->data, (size_t)body->length);
  put_le(data + data_length, masked_crc(data, data_length), 4);
  return record;
}

/* ------------------------------------------------------------------ the chunk and the settings */

typedef struct {
  const int32_t *ids, *words;   /* per token */
  const int32_t *sentence_starts; /* num_sentences + 1 token offsets */
  const int32_t *document_starts; /* num_documents + 1 sentence offsets */
  Py_ssize_t num_documents;
} Chunk;

typedef struct {
  int max_seq_length, max_predictions_per_seq;
  double short_seq_prob, masked_lm_prob;
  int32_t cls_id, sep_id, mask_id;
  const int32_t *candidates;
  Py_ssize_t num_candidates;
  int per_token_decision, dynamic_masking;
  PyObject *names[7]; /* bytes: the feature names, in the order of wwm/record_schema.py */
} Settings;

typedef struct {
  IntVector a_ids, a_words, b_ids, b_words; /* segments being built */
  int64_t *input_ids, *word_ids, *segment_ids, *mask, *positions, *labels, *numbered;
  int32_t *group_starts, *group_lengths, *chosen, *order;
  float *weights;
  ByteBuffer body;
  PyObject *records;
  long long masked_tokens, masked_words, next_sentence_random;
} Work;

static Py_ssize_t sentence_length(const Chunk *chunk, Py_ssize_t sentence) {
  return chunk->sentence_starts[sentence + 1] - chunk->sentence_starts[sentence];
}

static int append_sentence(const Chunk *chunk, Py_ssize_t sentence, IntVector *ids, IntVector *words) {
  Py_ssize_t start = chunk->sentence_starts[sentence], length = sentence_length(chunk, sentence);
  if (ints_extend(ids, chunk->ids + start, length) < 0) return -1;
  return ints_extend(words, chunk->words + start, length);
}

/* masking.word_groups: maximal runs of one word id >= 0. Returns the number of groups. */
static int find_groups(const int64_t *word_ids, int length, int32_t *starts, int32_t *lengths) {
  int count = 0;
  int start = 0;
  for (int position = 1; position <= length; position++) {
    if (position == length || word_ids[position] != word_ids[position - 1]) {
      if (word_ids[start] >= 0) {
        starts[count] = start;
        lengths[count] = position - start;
        count++;
      }
      start = position;
    }
  }
  return count;
}

static int32_t random_candidate(Twister *rng, const Settings *settings) {
  return settings->candidates[twister_below(rng, (uint32_t)settings->num_candidates)];
}

/* masking.choose_masked_positions on work->input_ids; fills positions / labels, returns their count. */
static int choose_masked_positions(Work *work, int length, const Settings *settings, Twister *rng,
                                   int *num_words) {
  int num_groups = find_groups(work->word_ids, length, work->group_starts, work->group_lengths);
  long rounded = (long)rint((double)length * settings->masked_lm_prob);
  int num_to_predict = (int)(rounded > 1 ? rounded : 1);
  if (num_to_predict > settings->max_predictions_per_seq) num_to_predict = settings->max_predictions_per_seq;
  int32_t *starts = work->group_starts, *lengths = work->group_lengths, *chosen = work->chosen;
  int num_chosen_groups = 0, num_chosen = 0;
  for (int index = 0; index < num_groups; index++) {
    if (num_chosen >= num_to_predict) break;
    int pick = index + (int)(twister_random(rng) * (double)(num_groups - index));
    int32_t start = starts[index], group_length = lengths[index];
    starts[index] = starts[pick];
    lengths[index] = lengths[pick];
    starts[pick] = start;
    lengths[pick] = group_length;
    if (num_chosen + lengths[index] > num_to_predict) continue;
    chosen[num_chosen_groups++] = index;
    num_chosen += lengths[index];
  }
  /* Sorted positions: the chosen groups are disjoint runs, so order them by start (few of them). */
  int32_t *order = work->order;
  for (int i = 0; i < num_chosen_groups; i++) {
    int j = i;
    while (j > 0 && starts[chosen[order[j - 1]]] > starts[chosen[i]]) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = i;
  }
  int count = 0;
  for (int i = 0; i < num_chosen_groups; i++) {
    int group = chosen[order[i]];
    for (int position = starts[group]; position < starts[group] + lengths[group]; position++) {
      work->positions[count] = position;
      work->labels[count] = work->input_ids[position];
      count++;
    }
  }
  int64_t *input_ids = work->input_ids;
  for (int i = 0; i < num_chosen_groups; i++) {
    int group = chosen[i];
    int end = starts[group] + lengths[group];
    if (settings->per_token_decision) {
      for (int position = starts[group]; position < end; position++) {
        if (twister_random(rng) < 0.8) {
          input_ids[position] = settings->mask_id;
        } else if (!(twister_random(rng) < 0.5)) {
          input_ids[position] = random_candidate(rng, settings);
        }
      }
    } else {
      double draw = twister_random(rng);
      if (draw < 0.8) {
        for (int position = starts[group]; position < end; position++) input_ids[position] = settings->mask_id;
      } else if (draw >= 0.9) {
        for (int position = starts[group]; position < end; position++) {
          input_ids[position] = random_candidate(rng, settings);
        }
      }
    }
  }
  *num_words = num_chosen_groups;
  return count;
}

/* _make_instance + encode_instance + frame_record: appends one framed record to work->records.
 * b_ids / b_words NULL: a packed instance (no segment B). */
static int emit_instance(Work *work, const int32_t *a_ids, const int32_t *a_words, Py_ssize_t a_length,
                         const int32_t *b_ids, const int32_t *b_words, Py_ssize_t b_length, int label,
                         const Settings *settings, Twister *rng) {
  int max_length = settings->max_seq_length;
  int length = 0;
  work->input_ids[length] = settings->cls_id;
  work->word_ids[length] = -1;
  work->segment_ids[length++] = 0;
  for (Py_ssize_t i = 0; i < a_length; i++) {
    work->input_ids[length] = a_ids[i];
    work->word_ids[length] = a_words[i];
    work->segment_ids[length++] = 0;
  }
  work->input_ids[length] = settings->sep_id;
  work->word_ids[length] = -1;
  work->segment_ids[length++] = 0;
  if (b_ids != NULL) {
    for (Py_ssize_t i = 0; i < b_length; i++) {
      work->input_ids[length] = b_ids[i];
      work->word_ids[length] = b_words[i];
      work->segment_ids[length++] = 1;
    }
    work->input_ids[length] = settings->sep_id;
    work->word_ids[length] = -1;
    work->segment_ids[length++] = 1;
  }
  for (int i = 0; i < max_length; i++) work->mask[i] = i < length;
  for (int i = length; i < max_length; i++) {
    work->input_ids[i] = 0;
    work->segment_ids[i] = 0;
  }
  PyObject *const *names = settings->names;
  ByteBuffer *body = &work->body;
  body->length = 0;
  if (settings->dynamic_masking) {
    /* instances.renumber_words: the instance's words numbered 0.. in order; -1 elsewhere and in padding. */
    int num_groups = find_groups(work->word_ids, length, work->group_starts, work->group_lengths);
    for (int i = 0; i < max_length; i++) work->numbered[i] = -1;
    for (int group = 0; group < num_groups; group++) {
      for (int p = work->group_starts[group]; p < work->group_starts[group] + work->group_lengths[group]; p++) {
        work->numbered[p] = group;
      }
    }
    int64_t next_sentence = label;
    if (put_feature(body, names[0], work->input_ids, NULL, max_length) < 0 ||
        put_feature(body, names[1], work->mask, NULL, max_length) < 0 ||
        put_feature(body, names[2], work->segment_ids, NULL, max_length) < 0 ||
        put_feature(body, names[3], &next_sentence, NULL, 1) < 0 ||
        put_feature(body, names[4], work->numbered, NULL, max_length) < 0) {
      return -1;
    }
  } else {
    int num_words = 0;
    int count = choose_masked_positions(work, length, settings, rng, &num_words);
    int max_predictions = settings->max_predictions_per_seq;
    for (int i = 0; i < max_predictions; i++) work->weights[i] = i < count ? 1.0f : 0.0f;
    for (int i = count; i < max_predictions; i++) {
      work->positions[i] = 0;
      work->labels[i] = 0;
    }
    int64_t next_sentence = label;
    if (put_feature(body, names[0], work->input_ids, NULL, max_length) < 0 ||
        put_feature(body, names[1], work->mask, NULL, max_length) < 0 ||
        put_feature(body, names[2], work->segment_ids, NULL, max_length) < 0 ||
        put_feature(body, names[3], work->positions, NULL, max_predictions) < 0 ||
        put_feature(body, names[4], work->labels, NULL, max_predictions) < 0 ||
        put_feature(body, names[5], NULL, work->weights, max_predictions) < 0 ||
        put_feature(body, names[6], &next_sentence, NULL, 1) < 0) {
      return -1;
    }
    work->masked_tokens += count;
    work->masked_words += num_words;
  }
  work->next_sentence_random += label;
  PyObject *record = framed_example(body);
  if (record == NULL) return -1;
  int status = PyList_Append(work->records, record);
  Py_DECREF(record);
  return status;
}

/* instances._truncate_seq_pair on work->a_* / work->b_*, by moving the kept windows to the front. */
static void truncate_pair(Work *work, int max_num_tokens, Twister *rng) {
  Py_ssize_t a_length = work->a_ids.length, b_length = work->b_ids.length;
  Py_ssize_t a_front = 0, b_front = 0;
  while (a_length + b_length > max_num_tokens) {
    if (a_length > b_length) {
      a_length--;
      if (twister_random(rng) < 0.5) a_front++;
    } else {
      b_length--;
      if (twister_random(rng) < 0.5) b_front++;
    }
  }
  memmove(work->a_ids.data, work->a_ids.data + a_front, (size_t)a_length * sizeof(int32_t));
  memmove(work->a_words.data, work->a_words.data + a_front, (size_t)a_length * sizeof(int32_t));
  memmove(work->b_ids.data, work->b_ids.data + b_front, (size_t)b_length * sizeof(int32_t));
  memmove(work->b_words.data, work->b_words.data + b_front, (size_t)b_length * sizeof(int32_t));
  work->a_ids.length = work->a_words.length = a_length;
  work->b_ids.length = work->b_words.length = b_length;
}

/* instances.create_instances_from_document for document `document` of the chunk. */
static int document_instances(Work *work, const Chunk *chunk, Py_ssize_t document, const Settings *settings,
                              Twister *rng) {
  const int32_t *document_starts = chunk->document_starts;
  Py_ssize_t first = document_starts[document], num_sentences = document_starts[document + 1] - first;
  int max_num_tokens = settings->max_seq_length - 3;
  int target_seq_length = max_num_tokens;
  if (twister_random(rng) < settings->short_seq_prob) {
    target_seq_length = 2 + (int)twister_below(rng, (uint32_t)(max_num_tokens - 1));
  }
  Py_ssize_t chunk_begin = 0, chunk_size = 0, current_length = 0;
  for (Py_ssize_t i = 0; i < num_sentences; i++) {
    chunk_size++;
    current_length += sentence_length(chunk, first + i);
    if (i != num_sentences - 1 && current_length < target_seq_length) continue;
    Py_ssize_t a_end = 1;
    if (chunk_size >= 2) a_end = 1 + (Py_ssize_t)twister_below(rng, (uint32_t)(chunk_size - 1));
    work->a_ids.length = work->a_words.length = work->b_ids.length = work->b_words.length = 0;
    for (Py_ssize_t s = 0; s < a_end; s++) {
      if (append_sentence(chunk, first + chunk_begin + s, &work->a_ids, &work->a_words) < 0) return -1;
    }
    int is_random_next = chunk_size == 1 || twister_random(rng) < 0.5;
    if (is_random_next) {
      Py_ssize_t target_b_length = target_seq_length - work->a_ids.length;
      Py_ssize_t random_document = 0;
      for (int attempt = 0; attempt < 10; attempt++) {
        random_document = (Py_ssize_t)twister_below(rng, (uint32_t)chunk->num_documents);
        if (random_document != document) break;
      }
      Py_ssize_t random_first = document_starts[random_document];
      Py_ssize_t random_count = document_starts[random_document + 1] - random_first;
      Py_ssize_t random_start = (Py_ssize_t)twister_below(rng, (uint32_t)random_count);
      for (Py_ssize_t j = random_start; j < random_count; j++) {
        if (append_sentence(chunk, random_first + j, &work->b_ids, &work->b_words) < 0) return -1;
        if (work->b_ids.length >= target_b_length) break;
      }
      /* The sentences after A were not used: they start the next instance. */
      i -= chunk_size - a_end;
    } else {
      for (Py_ssize_t s = a_end; s < chunk_size; s++) {
        if (append_sentence(chunk, first + chunk_begin + s, &work->b_ids, &work->b_words) < 0) return -1;
      }
    }
    truncate_pair(work, max_num_tokens, rng);
    if (emit_instance(work, work->a_ids.data, work->a_words.data, work->a_ids.length, work->b_ids.data,
                      work->b_words.data, work->b_ids.length, is_random_next, settings, rng) < 0) {
      return -1;
    }
    chunk_begin = i + 1;
    chunk_size = 0;
    current_length = 0;
  }
  return 0;
}

/* instances._make_packed_instance on work->a_*, then empties them. */
static int emit_packed(Work *work, const Settings *settings, Twister *rng) {
  Py_ssize_t length = work->a_ids.length;
  if (work->a_ids.data[length - 1] == settings->sep_id && work->a_words.data[length - 1] == -1) length--;
  int status = emit_instance(work, work->a_ids.data, work->a_words.data, length, NULL, NULL, 0, 0, settings, rng);
  work->a_ids.length = work->a_words.length = 0;
  return status;
}

/* instances.create_packed_instances over all documents of the chunk. */
static int packed_instances(Work *work, const Chunk *chunk, const Settings *settings, Twister *rng) {
  int max_num_tokens = settings->max_seq_length - 2;
  work->a_ids.length = work->a_words.length = 0;
  for (Py_ssize_t document = 0; document < chunk->num_documents; document++) {
    for (Py_ssize_t s = chunk->document_starts[document]; s < chunk->document_starts[document + 1]; s++) {
      if (work->a_ids.length && work->a_ids.length + sentence_length(chunk, s) > max_num_tokens) {
        if (emit_packed(work, settings, rng) < 0) return -1;
      }
      if (append_sentence(chunk, s, &work->a_ids, &work->a_words) < 0) return -1;
    }
    if (work->a_ids.length) {
      if (work->a_ids.length + 1 < max_num_tokens) {
        if (ints_append(&work->a_ids, settings->sep_id) < 0 || ints_append(&work->a_words, -1) < 0) return -1;
      } else if (emit_packed(work, settings, rng) < 0) {
        return -1;
      }
    }
  }
  if (work->a_ids.length && emit_packed(work, settings, rng) < 0) return -1;
  return 0;
}

/* ------------------------------------------------------------------ Python entry points */

static int int32_buffer_flags(PyObject *object, Py_buffer *view, const char *what, int flags) {
  if (PyObject_GetBuffer(object, view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS | flags) < 0) return -1;
  if (view->itemsize != 4 || view->format == NULL || (strcmp(view->format, "i") != 0 && strcmp(view->format, "=i") != 0)) {
    PyErr_Format(PyExc_TypeError, "%s must be a buffer of int32 ('i')", what);
    PyBuffer_Release(view);
    return -1;
  }
  return 0;
}

static int int32_buffer(PyObject *object, Py_buffer *view, const char *what) {
  return int32_buffer_flags(object, view, what, 0);
}

static void work_free(Work *work) {
  PyMem_Free(work->a_ids.data);
  PyMem_Free(work->a_words.data);
  PyMem_Free(work->b_ids.data);
  PyMem_Free(work->b_words.data);
  PyMem_Free(work->input_ids);
  PyMem_Free(work->group_starts);
  PyMem_Free(work->weights);
  PyMem_Free(work->body.data);
}

static int work_init(Work *work, const Settings *settings) {
  memset(work, 0, sizeof(*work));
  Py_ssize_t n = settings->max_seq_length, p = settings->max_predictions_per_seq > n ? settings->max_predictions_per_seq : n;
  /* input_ids, word_ids, segment_ids, mask, numbered: n each; positions, labels: p each. */
  work->input_ids = (int64_t *)PyMem_Calloc((size_t)(5 * n + 2 * p), sizeof(int64_t));
  work->group_starts = (int32_t *)PyMem_Calloc((size_t)(4 * n), sizeof(int32_t));
  work->weights = (float *)PyMem_Calloc((size_t)p, sizeof(float));
  if (work->input_ids == NULL || work->group_starts == NULL || work->weights == NULL) {
    work_free(work);
    PyErr_NoMemory();
    return -1;
  }
  work->word_ids = work->input_ids + n;
  work->segment_ids = work->word_ids + n;
  work->mask = work->segment_ids + n;
  work->numbered = work->mask + n;
  work->positions = work->numbered + n;
  work->labels = work->positions + p;
  work->group_lengths = work->group_starts + n;
  work->chosen = work->group_lengths + n;
  work->order = work->chosen + n;
  return 0;
}

PyDoc_STRVAR(build_doc,
"build(ids, word_ids, sentence_starts, document_starts, seeds, nsp, settings)\n"
"\n"
"The framed records of a chunk's instances, in creation order (before the chunk's shuffle).\n"
"\n"
"Args:\n"
"  ids, word_ids: int32 buffers, the tokens of every sentence of every document, concatenated.\n"
"  sentence_starts: int32 buffer, token offset of each sentence, then the total (num_sentences + 1).\n"
"  document_starts: int32 buffer, sentence offset of each document, then the total (num_documents + 1).\n"
"  seeds: list of bytes, one per random.Random of the Python code, in the order it creates them; each is\n"
"    the seed string's bytes followed by their SHA-512 digest.\n"
"  nsp: True: one seed per (dupe round, document), dupe-major; False: packing, one seed per dupe round.\n"
"  settings: (max_seq_length, max_predictions_per_seq, short_seq_prob, masked_lm_prob, cls_id, sep_id,\n"
"    mask_id, candidates (int32 buffer), per_token_decision, dynamic_masking, feature names (tuple of bytes\n"
"    in the order of wwm/record_schema.py's STATIC_ or DYNAMIC_MASKING_FEATURES)).\n"
"\n"
"Returns:\n"
"  (records, masked_tokens, masked_words, next_sentence_random): list of bytes and three counts.");

static PyObject *build(PyObject *self, PyObject *args) {
  PyObject *ids_object, *words_object, *sentences_object, *documents_object, *seeds, *settings_tuple;
  PyObject *candidates_object, *names;
  int nsp;
  Settings settings;
  if (!PyArg_ParseTuple(args, "OOOOO!pO!", &ids_object, &words_object, &sentences_object, &documents_object,
                        &PyList_Type, &seeds, &nsp, &PyTuple_Type, &settings_tuple)) {
    return NULL;
  }
  if (!PyArg_ParseTuple(settings_tuple, "iiddiiiOppO!", &settings.max_seq_length,
                        &settings.max_predictions_per_seq, &settings.short_seq_prob, &settings.masked_lm_prob,
                        &settings.cls_id, &settings.sep_id, &settings.mask_id, &candidates_object,
                        &settings.per_token_decision, &settings.dynamic_masking, &PyTuple_Type, &names)) {
    return NULL;
  }
  Py_ssize_t num_names = settings.dynamic_masking ? 5 : 7;
  if (PyTuple_GET_SIZE(names) != num_names) {
    return PyErr_Format(PyExc_ValueError, "expected %zd feature names", num_names);
  }
  for (Py_ssize_t i = 0; i < num_names; i++) {
    settings.names[i] = PyTuple_GET_ITEM(names, i);
    if (!PyBytes_Check(settings.names[i])) return PyErr_Format(PyExc_TypeError, "feature names must be bytes");
  }
  if (settings.max_seq_length < 5 || (!settings.dynamic_masking && settings.max_predictions_per_seq < 1)) {
    return PyErr_Format(PyExc_ValueError, "max_seq_length must be >= 5 and max_predictions_per_seq >= 1");
  }
  Py_buffer views[5];
  int num_views = 0;
  PyObject *objects[5] = {ids_object, words_object, sentences_object, documents_object, candidates_object};
  const char *what[5] = {"ids", "word_ids", "sentence_starts", "document_starts", "candidates"};
  for (; num_views < 5; num_views++) {
    if (int32_buffer(objects[num_views], &views[num_views], what[num_views]) < 0) break;
  }
  PyObject *result = NULL;
  Work work;
  int work_ready = 0;
  if (num_views < 5) goto done;
  Chunk chunk = {(const int32_t *)views[0].buf, (const int32_t *)views[1].buf, (const int32_t *)views[2].buf,
                 (const int32_t *)views[3].buf, views[3].len / 4 - 1};
  settings.candidates = (const int32_t *)views[4].buf;
  settings.num_candidates = views[4].len / 4;
  Py_ssize_t num_tokens = views[0].len / 4, num_sentences = views[2].len / 4 - 1;
  if (views[1].len != views[0].len || num_sentences < 0 || chunk.num_documents < 0 ||
      chunk.sentence_starts[0] != 0 || chunk.sentence_starts[num_sentences] != num_tokens ||
      chunk.document_starts[0] != 0 || chunk.document_starts[chunk.num_documents] != num_sentences ||
      settings.num_candidates < 1) {
    PyErr_SetString(PyExc_ValueError, "inconsistent chunk arrays");
    goto done;
  }
  for (Py_ssize_t s = 0; s < num_sentences; s++) {
    Py_ssize_t length = chunk.sentence_starts[s + 1] - chunk.sentence_starts[s];
    if (length < 1 || length > settings.max_seq_length - (nsp ? 3 : 2)) {
      PyErr_SetString(PyExc_ValueError, "a sentence is empty or longer than an instance holds");
      goto done;
    }
  }
  for (Py_ssize_t d = 0; d < chunk.num_documents; d++) {
    if (chunk.document_starts[d + 1] <= chunk.document_starts[d]) {
      PyErr_SetString(PyExc_ValueError, "a document has no sentence");
      goto done;
    }
  }
  Py_ssize_t num_seeds = PyList_GET_SIZE(seeds);
  if (nsp ? (chunk.num_documents == 0 ? num_seeds != 0 : num_seeds % chunk.num_documents != 0) : 0) {
    PyErr_SetString(PyExc_ValueError, "nsp needs one seed per dupe round and document");
    goto done;
  }
  if (work_init(&work, &settings) < 0) goto done;
  work_ready = 1;
  work.records = PyList_New(0);
  if (work.records == NULL) goto done;
  for (Py_ssize_t k = 0; k < num_seeds; k++) {
    PyObject *seed = PyList_GET_ITEM(seeds, k);
    if (!PyBytes_Check(seed)) {
      PyErr_SetString(PyExc_TypeError, "seeds must be bytes");
      goto done;
    }
    Twister rng;
    if (twister_seed(&rng, (const unsigned char *)PyBytes_AS_STRING(seed), PyBytes_GET_SIZE(seed)) < 0) goto done;
    int status = nsp ? document_instances(&work, &chunk, k % chunk.num_documents, &settings, &rng)
                     : packed_instances(&work, &chunk, &settings, &rng);
    if (status < 0) goto done;
  }
  result = Py_BuildValue("OLLL", work.records, work.masked_tokens, work.masked_words, work.next_sentence_random);
done:
  if (work_ready) {
    Py_XDECREF(work.records);
    work_free(&work);
  }
  for (int i = 0; i < num_views; i++) PyBuffer_Release(&views[i]);
  return result;
}

PyDoc_STRVAR(twister_state_doc,
"twister_state(seed) -> tuple of 625 ints\n"
"\n"
"random.Random(s).getstate()[1] computed by this module's seeding, where seed = s.encode() + its SHA-512\n"
"digest (for tests: the draws can only match if the states do).");

static PyObject *twister_state(PyObject *self, PyObject *args) {
  const char *material;
  Py_ssize_t length;
  if (!PyArg_ParseTuple(args, "y#", &material, &length)) return NULL;
  Twister rng;
  if (twister_seed(&rng, (const unsigned char *)material, length) < 0) return NULL;
  PyObject *state = PyTuple_New(MT_N + 1);
  if (state == NULL) return NULL;
  for (int i = 0; i < MT_N; i++) PyTuple_SET_ITEM(state, i, PyLong_FromUnsignedLong(rng.state[i]));
  PyTuple_SET_ITEM(state, MT_N, PyLong_FromLong(rng.index));
  return state;
}

/* ------------------------------------------------------------------ alignment (wwm/alignment.py) */

/* Gets the int32 buffers of `objects` (the last one writable if `writable_last`); returns how many it got (all
 * of them on success, with an exception set otherwise). */
static int get_buffers(PyObject **objects, const char **what, int count, int writable_last, Py_buffer *views) {
  int got = 0;
  for (; got < count; got++) {
    int flags = writable_last && got == count - 1 ? PyBUF_WRITABLE : 0;
    if (int32_buffer_flags(objects[got], &views[got], what[got], flags) < 0) break;
  }
  return got;
}

static void release_buffers(Py_buffer *views, int count) {
  for (int i = 0; i < count; i++) PyBuffer_Release(&views[i]);
}

/* Checks that line_starts (num_lines + 1 offsets) cover ids in order and that every id indexes the tables. */
static int check_lines(const int32_t *ids, Py_ssize_t num_ids, const int32_t *line_starts, Py_ssize_t num_lines,
                       Py_ssize_t table_size) {
  if (num_lines < 0 || line_starts[0] != 0 || line_starts[num_lines] != num_ids) goto bad;
  for (Py_ssize_t line = 0; line < num_lines; line++) {
    if (line_starts[line + 1] < line_starts[line]) goto bad;
  }
  for (Py_ssize_t i = 0; i < num_ids; i++) {
    if (ids[i] < 0 || ids[i] >= table_size) {
      PyErr_Format(PyExc_ValueError, "token id %d is not in the vocabulary", ids[i]);
      return -1;
    }
  }
  return 0;
bad:
  PyErr_SetString(PyExc_ValueError, "inconsistent line offsets");
  return -1;
}

/* End of the run of CJK tokens (codepoint != 0) that starts at `position`, within the line ending at `end`. */
static Py_ssize_t run_end(const int32_t *ids, const int32_t *codepoints, Py_ssize_t position, Py_ssize_t end) {
  while (position < end && codepoints[ids[position]]) position++;
  return position;
}

PyDoc_STRVAR(cjk_runs_doc,
"cjk_runs(ids, line_starts, codepoints) -> list of str\n"
"\n"
"The text of every maximal run of at least two CJK-character tokens within a line, in order: what\n"
"wwm/alignment.py gives the segmenter.\n"
"\n"
"Args:\n"
"  ids: int32 buffer, the token ids of all lines, concatenated.\n"
"  line_starts: int32 buffer, the offset of each line in ids, then len(ids).\n"
"  codepoints: int32 buffer over the vocabulary: the character of a one-CJK-character token, else 0.");

static PyObject *cjk_runs(PyObject *self, PyObject *args) {
  (void)self;
  PyObject *objects[3];
  const char *what[3] = {"ids", "line_starts", "codepoints"};
  if (!PyArg_ParseTuple(args, "OOO", &objects[0], &objects[1], &objects[2])) return NULL;
  Py_buffer views[3];
  int got = get_buffers(objects, what, 3, 0, views);
  PyObject *texts = NULL;
  Py_UCS4 *characters = NULL;
  if (got < 3) goto done;
  const int32_t *ids = views[0].buf, *line_starts = views[1].buf, *codepoints = views[2].buf;
  Py_ssize_t num_ids = views[0].len / 4, num_lines = views[1].len / 4 - 1;
  if (check_lines(ids, num_ids, line_starts, num_lines, views[2].len / 4) < 0) goto done;
  characters = (Py_UCS4 *)PyMem_Malloc((size_t)(num_ids > 0 ? num_ids : 1) * sizeof(Py_UCS4));
  texts = PyList_New(0);
  if (characters == NULL || texts == NULL) {
    if (characters == NULL) PyErr_NoMemory();
    Py_CLEAR(texts);
    goto done;
  }
  for (Py_ssize_t line = 0; line < num_lines; line++) {
    Py_ssize_t position = line_starts[line], end = line_starts[line + 1];
    while (position < end) {
      if (!codepoints[ids[position]]) {
        position++;
        continue;
      }
      Py_ssize_t stop = run_end(ids, codepoints, position, end);
      if (stop - position >= 2) {
        for (Py_ssize_t i = position; i < stop; i++) characters[i - position] = (Py_UCS4)codepoints[ids[i]];
        PyObject *text = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, characters, stop - position);
        if (text == NULL || PyList_Append(texts, text) < 0) {
          Py_XDECREF(text);
          Py_CLEAR(texts);
          goto done;
        }
        Py_DECREF(text);
      }
      position = stop;
    }
  }
done:
  PyMem_Free(characters);
  release_buffers(views, got);
  return texts;
}

PyDoc_STRVAR(assign_word_ids_doc,
"assign_word_ids(ids, line_starts, document_lines, codepoints, continuation, run_lengths, mode, out) -> int\n"
"\n"
"wwm/alignment.assign_word_ids over every line of a chunk, numbering the words of each document from 0.\n"
"\n"
"Args:\n"
"  ids, line_starts, codepoints: as for cjk_runs.\n"
"  document_lines: int32 buffer, the first line of each document, then the number of lines.\n"
"  continuation: int32 buffer over the vocabulary: 1 for a `##` token, else 0.\n"
"  run_lengths: int32 buffer, the word lengths of the runs of cjk_runs, in order (mode 2 only).\n"
"  mode: 0 every token its own word (--masking_mode token); 1 `##` pieces join, every CJK token its own\n"
"    word (no segmenter); 2 as 1, with the CJK runs cut by run_lengths.\n"
"  out: writable int32 buffer of len(ids): the word ids.\n"
"\n"
"Returns:\n"
"  The number of words (summed over the documents).");

static PyObject *assign_word_ids(PyObject *self, PyObject *args) {
  (void)self;
  PyObject *objects[6];
  const char *what[6] = {"ids", "line_starts", "document_lines", "codepoints", "continuation", "run_lengths"};
  PyObject *out_object;
  int mode;
  if (!PyArg_ParseTuple(args, "OOOOOOiO", &objects[0], &objects[1], &objects[2], &objects[3], &objects[4],
                        &objects[5], &mode, &out_object)) {
    return NULL;
  }
  PyObject *all[7] = {objects[0], objects[1], objects[2], objects[3], objects[4], objects[5], out_object};
  const char *all_what[7] = {what[0], what[1], what[2], what[3], what[4], what[5], "out"};
  Py_buffer views[7];
  int got = get_buffers(all, all_what, 7, 1, views);
  PyObject *result = NULL;
  if (got < 7) goto done;
  const int32_t *ids = views[0].buf, *line_starts = views[1].buf, *document_lines = views[2].buf;
  const int32_t *codepoints = views[3].buf, *continuation = views[4].buf, *run_lengths = views[5].buf;
  int32_t *out = views[6].buf;
  Py_ssize_t num_ids = views[0].len / 4, num_lines = views[1].len / 4 - 1, num_documents = views[2].len / 4 - 1;
  Py_ssize_t num_run_lengths = views[5].len / 4, next_length = 0;
  if (views[4].len != views[3].len || views[6].len != views[0].len || mode < 0 || mode > 2) {
    PyErr_SetString(PyExc_ValueError, "inconsistent arguments");
    goto done;
  }
  if (check_lines(ids, num_ids, line_starts, num_lines, views[3].len / 4) < 0) goto done;
  if (num_documents < 0 || document_lines[0] != 0 || document_lines[num_documents] != num_lines) {
    PyErr_SetString(PyExc_ValueError, "inconsistent document offsets");
    goto done;
  }
  long long words = 0;
  for (Py_ssize_t document = 0; document < num_documents; document++) {
    if (document_lines[document + 1] < document_lines[document]) {
      PyErr_SetString(PyExc_ValueError, "inconsistent document offsets");
      goto done;
    }
    int32_t next_id = 0;
    for (Py_ssize_t line = document_lines[document]; line < document_lines[document + 1]; line++) {
      Py_ssize_t start = line_starts[line], end = line_starts[line + 1], position = start;
      while (position < end) {
        int32_t token = ids[position];
        if (mode == 0) {
          out[position++] = next_id++;
        } else if (codepoints[token]) {
          Py_ssize_t stop = run_end(ids, codepoints, position, end);
          if (mode == 2 && stop - position >= 2) {
            Py_ssize_t covered = 0;
            while (covered < stop - position) {
              if (next_length >= num_run_lengths || run_lengths[next_length] <= 0 ||
                  run_lengths[next_length] > stop - position - covered) {
                PyErr_SetString(PyExc_ValueError, "run_lengths do not cover the runs");
                goto done;
              }
              for (int32_t k = 0; k < run_lengths[next_length]; k++) out[position + covered + k] = next_id;
              covered += run_lengths[next_length++];
              next_id++;
            }
          } else {
            for (Py_ssize_t i = position; i < stop; i++) out[i] = next_id++;
          }
          position = stop;
        } else if (continuation[token] && position > start) {
          out[position] = out[position - 1];
          position++;
        } else {
          out[position++] = next_id++;
        }
      }
    }
    words += next_id;
  }
  if (mode == 2 && next_length != num_run_lengths) {
    PyErr_SetString(PyExc_ValueError, "run_lengths do not cover the runs");
    goto done;
  }
  result = PyLong_FromLongLong(words);
done:
  release_buffers(views, got);
  return result;
}

static PyMethodDef methods[] = {
    {"cjk_runs", cjk_runs, METH_VARARGS, cjk_runs_doc},
    {"assign_word_ids", assign_word_ids, METH_VARARGS, assign_word_ids_doc},
    {"build", build, METH_VARARGS, build_doc},
    {"twister_state", twister_state, METH_VARARGS, twister_state_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fast_records",
                                    "Instances, masks and framed records of a chunk (see wwm/fast_records.py).", -1,
                                    methods};

PyMODINIT_FUNC PyInit__fast_records(void) {
  crc_init();
  return PyModule_Create(&module);
}
