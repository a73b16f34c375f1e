/* tokenizer.h: BPE tokenizers, exactly as their references encode.
 *
 * Two file formats:
 *   - GPT-2's two files, in either naming, encoded exactly as tiktoken's
 *     "gpt2" encoding:
 *       vocab.json   + merges.txt   (Hugging Face)
 *       encoder.json + vocab.bpe    (OpenAI's original release)
 *     Both hold the same data: a JSON object token -> id, with bytes spelled
 *     in GPT-2's printable byte alphabet ("Ġ" is the space byte), and one
 *     merge "left right" per line, in rank order, after an optional
 *     "#version" line. The literal text "<|endoftext|>" becomes the
 *     end-of-text id.
 *   - Hugging Face's tokenizer.json with a BPE model, encoded exactly as
 *     Hugging Face tokenizers (the Rust library behind transformers) does:
 *     byte-level BPE (GPT-2, SmolLM, Qwen2, Llama 3, Pythia) and
 *     SentencePiece-style BPE with byte fallback (Llama 2, TinyLlama,
 *     Mistral). docs/tokenizer.md lists the parts of the format supported;
 *     any other part is refused at load time with a message naming it.
 *
 * Token ids index the vocab; every token has exact bytes, so decoding is
 * exact down to the byte (ids can decode to invalid UTF-8, e.g. half of an
 * emoji).
 *
 * This layer knows nothing about models. A loaded tokenizer is read-only:
 * any number of threads may encode and decode with it at once.
 */
#ifndef LESION_TOKENIZER_H
#define LESION_TOKENIZER_H
#include <lesion.h>

#pragma GCC visibility push(default) /* public API: see lesion.h */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ls_tokenizer ls_tokenizer;

/* Loads the tokenizer of a model directory: dir/tokenizer.json if there is
 * one (it is the whole description, of which a vocab.json + merges.txt
 * beside it are only the model part), else dir/vocab.json + dir/merges.txt,
 * else dir/encoder.json + dir/vocab.bpe. Fails naming the directory when
 * none is there. */
int ls_tokenizer_load_dir(ls_tokenizer **out, const char *dir, ls_error *err);

/* Loads and validates GPT-2's two files: the vocab must be a JSON object of
 * string -> integer whose ids are exactly 0..n-1, spelled in the byte
 * alphabet and holding all 256 single bytes; each merge must be two vocab
 * tokens whose concatenation is a vocab token; every other multi-byte token
 * must be the result of some merge or a special token spelled <|...|>.
 * Errors name the file (and the line, for merges). */
int ls_tokenizer_load(ls_tokenizer **out, const char *vocab_json_path,
                      const char *merges_path, ls_error *err);

/* Loads and validates a tokenizer.json (model type BPE). Errors name the
 * file and the part of it that is wrong or unsupported, e.g.
 * "x/tokenizer.json: normalizer: type \"NFKC\" is not supported ...". */
int ls_tokenizer_load_json(ls_tokenizer **out, const char *path, ls_error *err);

/* Frees everything; NULL is fine. */
void ls_tokenizer_free(ls_tokenizer *tok);

/* V = the largest token id + 1; ids are 0..V-1. A tokenizer.json may leave
 * ids unused (tiktoken's cl100k_base does): such ids are never produced,
 * and token_bytes/decode refuse them. */
int ls_tokenizer_vocab_size(const ls_tokenizer *tok);

/* Id of "<|endoftext|>" as a special token, or -1 if there is none. */
int32_t ls_tokenizer_eot(const ls_tokenizer *tok);

/* What the tokenizer's post-processor adds around one encoded text, as the
 * file says (tokenizer.json's TemplateProcessing "single" template, or
 * RobertaProcessing / BertProcessing): the ids before the text (Llama's <s>,
 * Llama 3's <|begin_of_text|>) and after it. Pointers into the tokenizer;
 * counts are 0 when nothing is added (GPT-2's files, GPT-2 and Qwen2's
 * tokenizer.json). ls_tokenizer_encode never adds them: whether a model's
 * input starts with them is the model layer's decision. */
void ls_tokenizer_template(const ls_tokenizer *tok, const int32_t **prefix, size_t *n_prefix,
                           const int32_t **suffix, size_t *n_suffix);

/* The beginning-of-sequence id: the first id the template puts before the
 * text, or -1 when it puts none. */
int32_t ls_tokenizer_bos(const ls_tokenizer *tok);

/* Encodes len bytes of UTF-8 text (NULs allowed) into *ids, malloc'd (caller
 * frees; never NULL on success, even for empty text), *n_ids entries.
 * Special tokens written in the text (<|endoftext|>, <s>, ...) become their
 * ids. Invalid UTF-8 fails with the byte offset of the first bad byte. */
int ls_tokenizer_encode(const ls_tokenizer *tok, const char *text, size_t len,
                        int32_t **ids, size_t *n_ids, ls_error *err);

/* A model's input for one text: the template's prefix (Llama's BOS; nothing
 * for GPT-2), then ls_tokenizer_encode's ids. The commands that run a model
 * on text use this; `lesion tokenize` shows the plain encoding. */
int ls_tokenizer_encode_input(const ls_tokenizer *tok, const char *text, size_t len, int32_t **ids, size_t *n_ids,
                              ls_error *err);

/* Decodes ids to their exact bytes in *text, malloc'd and NUL-terminated for
 * convenience (*len excludes the NUL). An id outside 0..V-1, or one that
 * names no token, fails naming its position. Special tokens decode to their
 * text. Where Hugging Face's decode returns a string with U+FFFD for bytes
 * that are not valid UTF-8, this returns the bytes themselves. */
int ls_tokenizer_decode(const ls_tokenizer *tok, const int32_t *ids, size_t n_ids,
                        char **text, size_t *len, ls_error *err);

/* The bytes of one token decoded on its own (not NUL-terminated), pointing
 * into the tokenizer: for printing tokens and for streaming decode. Returns
 * -1 if id is out of range or names no token. Decoding a sequence is the
 * concatenation of these, except at its ends where the decoder says so
 * (SentencePiece-style tokenizers drop the space their "▁" makes at the
 * very start). */
int ls_tokenizer_token_bytes(const ls_tokenizer *tok, int32_t id,
                             const char **bytes, size_t *len);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
