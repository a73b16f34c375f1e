/* bpe.c: byte-pair merging of one pre-token.
 *
 * Symbols start as the pre-token's units (bytes for byte-level BPE, UTF-8
 * characters otherwise, each looked up in the vocab), and the adjacent pair
 * with the lowest merge rank is merged, leftmost first on ties, until no
 * listed pair is left. A binary heap keyed by (rank, position) with lazy
 * deletion keeps very long pre-tokens O(n log n) instead of O(n^2).
 *
 * Two ways of saying which pairs merge, one per reference:
 *  - tokenizer.json (Hugging Face): a pair merges if (left id, right id) is
 *    listed; the rank is its place in the list and the result the listed
 *    token. A heap entry is stale unless the pair now at its position still
 *    maps to the same result (Hugging Face's own check).
 *  - GPT-2's two files (tiktoken): a pair merges if the concatenation of its
 *    bytes is the result of some merge, ranked by that merge. For GPT-2's
 *    files, where every merge makes a distinct token, this is encoder.py's
 *    rule too; tests/tokenizer/data/tiny shows where the two differ.
 *
 * A unit missing from the vocab (SentencePiece-style BPE) becomes its
 * <0xNN> byte tokens when byte_fallback is set and all exist, else the unk
 * token (consecutive ones fused into one when fuse_unk), else nothing: it
 * is dropped, as Hugging Face drops it.
 *
 * Shortcut: with ignore_merges (Llama 3) or for GPT-2's files (tiktoken), a
 * pre-token that is itself a token is that token. */
#include "pipeline.h"

#include <stdlib.h>

typedef struct ls_bpe_merge {
    int32_t rank;     /* merge rank of the pair */
    int32_t pos;      /* index of the pair's left symbol */
    int32_t result;   /* the id the pair merges into */
    int32_t pair_end; /* concat mode: end of the right symbol when pushed */
} ls_bpe_merge;

int ls_enc_push(ls_encoder *e, int32_t id) {
    if (e->n_ids == e->cap_ids) {
        size_t cap = e->cap_ids ? e->cap_ids * 2 : 64;
        int32_t *p = realloc(e->ids, cap * sizeof *p);
        if (!p) return -1;
        e->ids = p;
        e->cap_ids = cap;
    }
    e->ids[e->n_ids++] = id;
    return 0;
}

static int reserve(ls_bpe_symbols *b, size_t n) {
    if (n <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < n) cap *= 2;
    int32_t **arr[5] = {&b->id, &b->start, &b->end, &b->prev, &b->next};
    for (int i = 0; i < 5; i++) {
        int32_t *g = realloc(*arr[i], cap * sizeof **arr[i]);
        if (!g) return -1;
        *arr[i] = g;
    }
    b->cap = cap;
    return 0;
}

void ls_bpe_free(ls_bpe_symbols *b) {
    free(b->id);
    free(b->start);
    free(b->end);
    free(b->prev);
    free(b->next);
    free(b->heap);
}

static int merge_less(ls_bpe_merge a, ls_bpe_merge b) {
    return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos);
}

static int heap_push(ls_bpe_symbols *b, ls_bpe_merge x) {
    if (b->n_heap == b->cap_heap) {
        size_t cap = b->cap_heap ? b->cap_heap * 2 : 64;
        ls_bpe_merge *g = realloc(b->heap, cap * sizeof *g);
        if (!g) return -1;
        b->heap = g;
        b->cap_heap = cap;
    }
    size_t i = b->n_heap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!merge_less(x, b->heap[parent])) break;
        b->heap[i] = b->heap[parent];
        i = parent;
    }
    b->heap[i] = x;
    return 0;
}

static ls_bpe_merge heap_pop(ls_bpe_symbols *b) {
    ls_bpe_merge top = b->heap[0], x = b->heap[--b->n_heap];
    size_t i = 0, n = b->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && merge_less(b->heap[c + 1], b->heap[c])) c++;
        if (!merge_less(b->heap[c], x)) break;
        b->heap[i] = b->heap[c];
        i = c;
    }
    if (n) b->heap[i] = x;
    return top;
}

/* The merge of symbols a and b (adjacent), if any: rank and result. */
static int pair_merge(const ls_tokenizer *t, const ls_bpe_symbols *s, const char *piece, int32_t a, int32_t b,
                      int32_t *rank, int32_t *result) {
    if (t->merge_by_concat) {
        int32_t id = ls_tok_lookup(t, piece + s->start[a], (size_t)(s->end[b] - s->start[a]));
        if (id < 0 || t->merge_rank[id] == LS_NO_RANK) return 0;
        *rank = t->merge_rank[id];
        *result = id;
        return 1;
    }
    return ls_tok_pair_get(t, s->id[a], s->id[b], rank, result);
}

static int push_pair(const ls_tokenizer *t, ls_bpe_symbols *s, const char *piece, int32_t a) {
    int32_t b = s->next[a], rank, result;
    if (b < 0 || !pair_merge(t, s, piece, a, b, &rank, &result)) return 0;
    return heap_push(s, (ls_bpe_merge){rank, a, result, s->end[b]});
}

/* Appends symbol (id, [start, end)) as the last of m symbols. */
static void add_symbol(ls_bpe_symbols *s, int32_t *m, int32_t id, size_t start, size_t end) {
    int32_t k = (*m)++;
    s->id[k] = id;
    s->start[k] = (int32_t)start;
    s->end[k] = (int32_t)end;
    s->prev[k] = k - 1;
    s->next[k] = -1;
    if (k > 0) s->next[k - 1] = k;
}

/* The initial symbols of piece[0..n): one per unit, or per byte for
 * byte-fallback units, unk for the rest. Returns the count. */
static int32_t initial_symbols(const ls_tokenizer *t, ls_bpe_symbols *s, const char *piece, size_t n) {
    int32_t m = 0;
    int32_t unk_start = -1; /* a pending unk symbol starts here */
    size_t unk_end = 0;
    for (size_t i = 0; i < n;) {
        size_t u = 1;
        if (!t->byte_level)
            while (i + u < n && ((unsigned char)piece[i + u] & 0xC0) == 0x80) u++;
        int32_t id = t->byte_level ? t->byte_id[(uint8_t)piece[i]] : ls_tok_lookup(t, piece + i, u);
        if (id >= 0) {
            if (unk_start >= 0) { add_symbol(s, &m, t->unk, (size_t)unk_start, unk_end); unk_start = -1; }
            add_symbol(s, &m, id, i, i + u);
        } else {
            int fallback = !t->byte_level && t->byte_fallback;
            for (size_t k = 0; fallback && k < u; k++) fallback = t->byte_id[(uint8_t)piece[i + k]] >= 0;
            if (fallback) {
                if (unk_start >= 0) { add_symbol(s, &m, t->unk, (size_t)unk_start, unk_end); unk_start = -1; }
                for (size_t k = 0; k < u; k++) add_symbol(s, &m, t->byte_id[(uint8_t)piece[i + k]], i + k, i + k + 1);
            } else if (t->unk >= 0) {
                if (unk_start >= 0 && t->fuse_unk) {
                    unk_end = i + u;
                } else {
                    if (unk_start >= 0) add_symbol(s, &m, t->unk, (size_t)unk_start, unk_end);
                    unk_start = (int32_t)i;
                    unk_end = i + u;
                }
            }
        }
        i += u;
    }
    if (unk_start >= 0) add_symbol(s, &m, t->unk, (size_t)unk_start, unk_end);
    return m;
}

int ls_bpe(ls_encoder *e, const char *piece, size_t n) {
    const ls_tokenizer *t = e->tok;
    if (n == 0) return 0;
    if (t->byte_level && n == 1 && t->byte_id[(uint8_t)piece[0]] >= 0) return ls_enc_push(e, t->byte_id[(uint8_t)piece[0]]);
    if (t->whole_piece_first) {
        int32_t whole = ls_tok_lookup(t, piece, n);
        if (whole >= 0 && !t->special[whole]) return ls_enc_push(e, whole);
    }
    if (n > INT32_MAX / 4) return -1;
    ls_bpe_symbols *s = &e->bpe;
    if (reserve(s, n)) return -1;
    int32_t m = initial_symbols(t, s, piece, n);
    s->n_heap = 0;
    for (int32_t k = 0; k + 1 < m; k++)
        if (push_pair(t, s, piece, k)) return -1;
    while (s->n_heap) {
        ls_bpe_merge top = heap_pop(s);
        int32_t a = top.pos, b = s->next[a];
        if (s->end[a] < 0 || b < 0) continue; /* merged away, or now last */
        if (t->merge_by_concat) {
            if (s->end[b] != top.pair_end) continue; /* stale */
        } else {
            int32_t rank, result;
            if (!ls_tok_pair_get(t, s->id[a], s->id[b], &rank, &result) || result != top.result) continue;
        }
        s->id[a] = top.result;
        s->end[a] = s->end[b];
        s->end[b] = -1;
        s->next[a] = s->next[b];
        if (s->next[a] >= 0) s->prev[s->next[a]] = a;
        if (s->prev[a] >= 0 && push_pair(t, s, piece, s->prev[a])) return -1;
        if (push_pair(t, s, piece, a)) return -1;
    }
    for (int32_t k = m ? 0 : -1; k >= 0; k = s->next[k])
        if (ls_enc_push(e, s->id[k])) return -1;
    return 0;
}
