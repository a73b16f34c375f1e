/* tokenizer.h: GPT-2's byte-level BPE, exactly as tiktoken's "gpt2" encoding.
 *
 * Text is split into pre-tokens by GPT-2's regex, each pre-token's UTF-8
 * bytes are merged pairwise by merge rank, and the literal text
 * "<|endoftext|>" becomes the end-of-text id. Token ids index the vocab file;
 * every token is a byte string, so decoding is exact down to the byte (ids
 * can decode to invalid UTF-8, e.g. half of an emoji).
 *
 * This layer knows nothing about models: it reads the two tokenizer files,
 * in either naming:
 *   vocab.json   + merges.txt   (Hugging Face)
 *   encoder.json + vocab.bpe    (OpenAI's original release)
 * Both hold the same data: a JSON object token -> id, with bytes spelled in
 * GPT-2's printable byte alphabet ("Ġ" is the space byte), and one merge
 * "left right" per line, in rank order, after an optional "#version" line.
 *
 * A loaded tokenizer is read-only: any number of threads may encode and
 * decode with it at once.
 */
#ifndef LESION_TOKENIZER_H
#define LESION_TOKENIZER_H
#include <lesion.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ls_tokenizer ls_tokenizer;

/* Loads dir/vocab.json + dir/merges.txt, or else dir/encoder.json +
 * dir/vocab.bpe. Fails naming the directory when neither pair is there. */
int ls_tokenizer_load_dir(ls_tokenizer **out, const char *dir, ls_error *err);

/* Loads and validates the two files: the vocab must be a JSON object of
 * string -> integer whose ids are exactly 0..n-1, spelled in the byte
 * alphabet and holding all 256 single bytes; each merge must be two vocab
 * tokens whose concatenation is a vocab token; every other multi-byte token
 * must be the result of some merge or a special token spelled <|...|>.
 * Errors name the file (and the line, for merges). */
int ls_tokenizer_load(ls_tokenizer **out, const char *vocab_json_path,
                      const char *merges_path, ls_error *err);

/* Frees everything; NULL is fine. */
void ls_tokenizer_free(ls_tokenizer *tok);

/* Number of entries in the vocab (V); ids are 0..V-1. */
int ls_tokenizer_vocab_size(const ls_tokenizer *tok);

/* Id of "<|endoftext|>", or -1 if the vocab has no such token. */
int32_t ls_tokenizer_eot(const ls_tokenizer *tok);

/* Encodes len bytes of UTF-8 text (NULs allowed) into *ids, malloc'd (caller
 * frees; never NULL on success, even for empty text), *n_ids entries.
 * Invalid UTF-8 fails with the byte offset of the first bad byte. */
int ls_tokenizer_encode(const ls_tokenizer *tok, const char *text, size_t len,
                        int32_t **ids, size_t *n_ids, ls_error *err);

/* Decodes ids to their exact bytes in *text, malloc'd and NUL-terminated for
 * convenience (*len excludes the NUL). An id outside 0..V-1 fails naming its
 * position. */
int ls_tokenizer_decode(const ls_tokenizer *tok, const int32_t *ids, size_t n_ids,
                        char **text, size_t *len, ls_error *err);

/* The bytes of one token (not NUL-terminated), pointing into the tokenizer:
 * for printing tokens and for streaming decode. Returns -1 if id is out of
 * range. */
int ls_tokenizer_token_bytes(const ls_tokenizer *tok, int32_t id,
                             const char **bytes, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
