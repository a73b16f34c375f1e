/* lesion/lesion.h: damaging chosen weight slices, reproducibly, through an overlay.
 *
 * A lesion is four things: WHERE (a spec such as attn.q@L5H2,7, parsed
 * against the model's config into tensor ids and rectangular blocks), WHAT
 * (a mode: gauss, uniform, zero, mean, shuffle, scale:F), HOW statistics are
 * matched (over the whole slice in each tensor, or per head) and WHICH
 * randomness (a seed, and the generator: counter-based Philox, or an exact
 * emulation of PyTorch 1.13's CPU generator).
 *
 * Lesions never write the clean weights. An overlay (ls_overlay) is a
 * weights view whose untouched ids point at the clean arrays and whose
 * touched ids point at private copies, made once per tensor on first touch
 * (copy-on-write). Lesions applied one after another compose; resetting the
 * overlay gives back the clean view, pointer for pointer.
 *
 * ---- the spec grammar ------------------------------------------------------
 *
 *   SPEC      = COMPONENT [ "@" SELECTOR ]
 *   SELECTOR  = [ "L" LIST | "all" ] [ "H" LIST ] [ "D" LIST ]    (in that order, no spaces)
 *   LIST      = ITEM { "," ITEM },  ITEM = N | N "-" N            (inclusive, ascending)
 *
 *   component  GPT-2 tensor (rows, cols)          what H / D select
 *   attn.q     h.l.attn.c_attn.weight (C,3C)        cols 0..C-1; head h: cols h*D..h*D+D-1
 *   attn.k       same tensor                        cols C..2C-1; head h: C+h*D..
 *   attn.v       same tensor                        cols 2C..3C-1; head h: 2C+h*D..
 *   attn.o     h.l.attn.c_proj.weight (C,C)         head h: ROWS h*D..h*D+D-1 (the rows that read head h)
 *   mlp.fc     h.l.mlp.c_fc.weight (C,4C)           D: output units = columns
 *   mlp.proj   h.l.mlp.c_proj.weight (4C,C)         D: output dims = columns
 *   ln1, ln2   h.l.ln_1/ln_2.weight (C)             D: elements
 *   lnf        ln_f.weight (C)                      D: elements (model-wide: no layer)
 *   wte        wte.weight (V,C)                     D: columns = embedding dims (model-wide);
 *              both of its uses: token lookup and, tied, the output head
 *   wte.in     wte.weight, the token lookup only    D: as wte (the head keeps the clean matrix)
 *   wte.out    the output head only (lm_head)       D: as wte (the lookup keeps the clean matrix)
 *   wpe        wpe.weight (n_ctx,C)                 D: columns (model-wide)
 *   head       an untied output matrix (V,C)        D: columns = its input dims (model-wide)
 *
 * The same names mean the same parts of every family (src/lesion/rects.c
 * derives the slices from the architecture table):
 *   Llama, Mistral, Qwen2 (weights stored (out, in)):
 *     attn.q  q_proj.weight rows; head h: rows h*D..h*D+D-1
 *     attn.k, attn.v  k_proj / v_proj rows; H selects KEY/VALUE heads
 *             (0..num_key_value_heads-1) under grouped-query attention
 *     attn.o  o_proj.weight COLUMNS h*D.. (what reads query head h)
 *     mlp.gate, mlp.up  gate_proj / up_proj rows (D: hidden units)
 *     mlp.down          down_proj rows (D: output dims)
 *     ln1, ln2, lnf     input_layernorm, post_attention_layernorm, model.norm
 *     wte               embed_tokens; head: lm_head (untied models only)
 *   GPT-NeoX (Pythia): attn.q/k/v are rows of the fused query_key_value,
 *     interleaved per head: head h's Q rows 3hD..3hD+D-1, K the next D, V
 *     the D after; attn.o columns of attention.dense; mlp.fc / mlp.proj rows
 *     of dense_h_to_4h / dense_4h_to_h; head: embed_out.
 * A component the family lacks (mlp.gate on GPT-2, wpe on Llama, head on a
 * tied model) is an error that lists what the model has.
 *
 * ---- bias ------------------------------------------------------------------
 *
 * with_bias adds the matching bias slice: attn.q/k/v the same columns of
 * c_attn.bias; mlp.fc the same units of c_fc.bias; mlp.proj the same columns
 * of mlp.c_proj.bias; ln1/ln2/lnf the same elements of the LayerNorm bias.
 * attn.o's c_proj.bias is added after all heads are mixed, so no head owns
 * a part of it: it is included only when every head is selected (silently
 * left out for a subset of heads). wte and wpe have no bias.
 *
 * ---- modes ---------------------------------------------------------------
 *
 * Statistics are over a GROUP of elements: with match "tensor" (default)
 * the whole named slice within one tensor (so attn.q@all has one group per
 * layer, as the seed experiment did it), with match "head" each head's
 * block (attn.* only). A bias slice is always its own group. Mean and std
 * are computed in double; std is the unbiased (n-1) estimate, as torch's
 * default .std(); a one-element group has std 0.
 *
 *   gauss     each element = mean + std * z, z standard normal
 *   uniform   each element = mean + std * sqrt(3) * (2u - 1), u uniform:
 *             uniform on mean +- sqrt(3) std, so mean and std match
 *   zero      0
 *   mean      the group's mean
 *   shuffle   a uniformly random permutation of the group's own values
 *   scale:F   x * F (computed in double, rounded once to float)
 * New values are computed in double and rounded once to float.
 *
 * ---- randomness -------------------------------------------------------------
 *
 * rng "philox" (default): every random number is Philox4x32-10 with key =
 * (seed low 32 bits, seed high 32 bits) at counter (i low, i high, tensor
 * id, purpose), where i comes from the element's row-major index within
 * its tensor (gauss and uniform: index / 2, two elements per draw) and
 * purpose is 1 gauss, 2 uniform, 3 shuffle. Nothing depends on a running
 * stream, so results are bitwise identical whatever the order of
 * application of disjoint lesions, the thread count or the machine (the
 * transcendental functions are our own, built from IEEE + - * / only).
 * src/lesion/rng.h says which bits feed which number.
 *
 * rng "torch": each group must be one rectangular block (rows, cols) of one
 * tensor (e.g. attn.q@L0, attn.q@L3H0-3, or any head list with match head);
 * it becomes, bit for bit, what PyTorch 1.13 on a CPU computes for
 *     s = block.contiguous()           # (rows, cols) float32
 *     torch.manual_seed(seed)          # per block: every block restarts the stream
 *     s = torch.randn(rows, cols) * s.std() + s.mean()
 * including torch's float32 cascade-summed mean and its double-accumulated
 * std. Torch's result depends on the CPU kernels it runs, its "CPU
 * capability" (torch.__config__.show() prints it; ATEN_CPU_CAPABILITY
 * overrides it), so there are three: "torch" emulates capability AVX2 (x86-64
 * with AVX2: Debian's 1.13.1 picks it even on AVX-512 CPUs); "torch-avx512"
 * capability AVX512 (the same noise, since normal_ has no AVX-512 kernel,
 * but the mean summed in 16-lane vectors); "torch-scalar" capability
 * DEFAULT, the portable kernels (CPUs without AVX2, other architectures;
 * they call the C library's logf, sinf and cosf, so they match a torch that
 * uses the same libm). torch's mean and
 * std of a block of 32768 or more elements also depend on its intra-op
 * thread count (torch.get_num_threads()): append ":T" to emulate T threads
 * (default 1), e.g. "torch:8". torch seeds mt19937 with the seed's low 32
 * bits, so seeds S and S + 2^32 give the same noise. Only gauss (and the
 * modes that draw nothing: zero, mean, scale) can use it.
 *
 * rng "torch-stream" (kernel as "torch", ":T" as there): the same draws,
 * but the generator is seeded once per overlay (on its first draw after a
 * reset) and each block continues the stream, in the order the blocks are
 * applied (layer by layer within a spec, spec by spec), as a notebook does:
 *     torch.manual_seed(seed)
 *     for block in blocks: block[:] = torch.randn(block.shape) * block.std() + block.mean()
 * With "torch" every block restarts at manual_seed(seed), so the blocks of
 * attn.q@L0-11 all get the same standardised noise; with "torch-stream"
 * each gets its own.
 */
#ifndef LESION_LESION_H
#define LESION_LESION_H
#include <lesion.h>

#pragma GCC visibility push(default) /* public API: see lesion.h */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- spec ------------------------------------------------------------------ */

typedef enum ls_component {
    LS_COMP_ATTN_Q,
    LS_COMP_ATTN_K,
    LS_COMP_ATTN_V,
    LS_COMP_ATTN_O,
    LS_COMP_MLP_FC,
    LS_COMP_MLP_PROJ,
    LS_COMP_LN1,
    LS_COMP_LN2,
    LS_COMP_LNF,
    LS_COMP_WTE,
    LS_COMP_WPE,
    LS_COMP_WTE_IN,  /* the tied embedding's input use only (the token lookup) */
    LS_COMP_WTE_OUT, /* the tied embedding's output use only (the logits head) */
    LS_COMP_MLP_GATE,
    LS_COMP_MLP_UP,
    LS_COMP_MLP_DOWN,
    LS_COMP_HEAD,
    LS_COMP_COUNT
} ls_component;

/* "attn.q", ..., "head". */
const char *ls_component_name(ls_component c);
/* The component named by name[0..len); -1 if none. */
int ls_component_parse(const char *name, size_t len, ls_component *out);
/* Whether it has one tensor per layer (else model-wide), heads (attn.*),
 * and how many D indices it has (0 for attn.*, which select heads). */
int ls_component_per_layer(ls_component c);
int ls_component_has_heads(ls_component c);
int ls_component_dims(ls_component c, const ls_config *cfg);

/* Where a component lives on one family (rects.c): its weight role (a
 * layer role when per_layer, else a model-wide id) and bias role (-1:
 * none), and along which axis of the stored 2-D view its units lie. */
typedef struct ls_comp_geom {
    int role, bias, per_layer;
    int units_are_rows;  /* 1: the selected units are rows of the tensor; 0: columns */
    int64_t n_units;     /* units a D selector can name (heads: unused) */
    int heads;           /* 0: no H selector; else how many heads H can name (query or key/value heads) */
    int64_t head_base, head_stride, head_width; /* head h = units [base + h*stride, + width) */
    int input_side;      /* attn.o: heads are the matrix's input units */
    int bias_whole;      /* the bias is shared by all heads: only a lesion of every head takes it */
    int embed_dims;      /* an embedding-like table: D selects columns */
} ls_comp_geom;

/* The geometry of comp on cfg's family; -1 when the family lacks it. */
int ls_component_geometry(const ls_config *cfg, ls_component comp, ls_comp_geom *g);

/* At most this many list items per axis (before merging). */
#define LS_SPEC_MAX_RANGES 128

/* A set of indices as sorted, disjoint, non-adjacent inclusive ranges. */
typedef struct ls_index_set {
    int n;                               /* 0: not given */
    struct { int lo, hi; } r[LS_SPEC_MAX_RANGES];
} ls_index_set;

typedef struct ls_spec {
    ls_component comp;
    ls_index_set layers; /* per-layer components: never empty; model-wide ones: empty */
    ls_index_set heads;  /* attn.*: empty means all heads */
    ls_index_set dims;   /* empty means all dims (the whole tensor) */
} ls_spec;

/* Scans an index LIST at text[*pos] (advancing *pos): sorted, merged,
 * each index < max ("layer", "this model has layers 0-11" name the axis in
 * messages; letter is the selector before the list, ' ' for a bare list).
 * On error writes a one-line message to msg and returns -1. Shared by the
 * spec and activation-site grammars. */
int ls_index_list_scan(const char *text, size_t *pos, int max, const char *what, const char *range_msg, char letter,
                       ls_index_set *set, char *msg, size_t cap);
/* Whether set holds i. */
int ls_index_set_has(const ls_index_set *s, int i);
/* Parses a bare LIST ("0-3,5") of indices 0..max-1 into out; what names
 * the axis in messages ("layer"). */
int ls_index_list_parse(ls_index_set *out, const char *text, int max, const char *what, ls_error *err);

/* Parses text against cfg (for ranges). On error the message names the
 * spec and says what is valid. */
int ls_spec_parse(ls_spec *out, const ls_config *cfg, const char *text, ls_error *err);

/* The canonical text of a spec (ranges sorted and merged), e.g.
 * "attn.q@L0-3,5H2,7"; returns what snprintf returns. */
int ls_spec_format(const ls_spec *s, char *buf, size_t cap);

/* ---- lesion ------------------------------------------------------------------ */

typedef enum ls_mode { LS_MODE_GAUSS, LS_MODE_UNIFORM, LS_MODE_ZERO, LS_MODE_MEAN, LS_MODE_SHUFFLE, LS_MODE_SCALE } ls_mode;
typedef enum ls_match { LS_MATCH_TENSOR, LS_MATCH_HEAD } ls_match;
typedef enum ls_rng { LS_RNG_PHILOX, LS_RNG_TORCH, LS_RNG_TORCH_AVX512, LS_RNG_TORCH_SCALAR, LS_RNG_TORCH_STREAM } ls_rng;

typedef struct ls_lesion {
    ls_spec spec;
    ls_mode mode;
    double scale;       /* the F of scale:F */
    ls_match match;
    int with_bias;
    uint64_t seed;
    ls_rng rng;
    int torch_threads;  /* torch's intra-op thread count to emulate (rng torch*), >= 1 */
} ls_lesion;

/* Parses a whole lesion. mode, match and rng may be NULL for the defaults
 * (gauss, tensor, philox). mode: gauss | uniform | zero | mean | shuffle |
 * scale:F. match: tensor | head (head needs attn.*). rng: philox, or
 * torch, torch-avx512, torch-scalar, each optionally with :THREADS (torch*
 * needs gauss, zero, mean or scale). */
int ls_lesion_parse(ls_lesion *out, const ls_config *cfg, const char *spec, const char *mode, const char *match,
                    int with_bias, uint64_t seed, const char *rng, ls_error *err);

/* One line for reports: "attn.q@L0 gauss match=tensor seed=0 rng=philox"
 * (plus " with-bias"). Returns what snprintf returns. */
int ls_lesion_format(const ls_lesion *l, char *buf, size_t cap);

/* ---- slice geometry ----------------------------------------------------------- */

/* One rectangle of one tensor, in the tensor's 2-D (rows, cols) view; a
 * 1-D tensor of n elements is 1 row of n columns. */
typedef struct ls_rect {
    ls_tensor_id id;
    int64_t row0, rows;  /* rows row0 .. row0+rows-1 */
    int64_t col0, cols;  /* cols col0 .. col0+cols-1 */
    int group;           /* statistics group: 0, 1, ...; a group lies in one tensor */
    int head;            /* match head: the head of the group; else -1 */
    int is_bias;         /* 1 for the bias slices added by with_bias */
} ls_rect;

/* The rectangles a lesion touches, ordered by group, then row, then
 * column; rectangles of a group that touch are merged (attn.q@L0H0-3 is one
 * rectangle with match tensor, four with match head). *out is malloc'd
 * (free() it). Rectangles never overlap. */
int ls_lesion_rects(const ls_lesion *l, const ls_config *cfg, ls_rect **out, int *n_rects, ls_error *err);

/* ---- overlay ---------------------------------------------------------------- */

typedef struct ls_overlay ls_overlay;

/* Statistics of one group when a lesion was applied. */
typedef struct ls_slice_stats {
    int lesion;          /* which ls_overlay_apply since the last reset: 0, 1, ... */
    ls_tensor_id id;
    int head;            /* match head: the head; else -1 */
    int is_bias;
    int64_t n;           /* elements in the group */
    double mean_before, std_before;
    double mean_after, std_after;
} ls_slice_stats;

/* An overlay on clean weights (which must outlive it and are never
 * written). NULL when out of memory. */
ls_overlay *ls_overlay_new(const ls_weights *clean);

/* Applies a lesion on top of what is applied: each touched tensor is copied
 * once (its first touch since the last reset), then the slice is written.
 * On error nothing visible has changed. */
int ls_overlay_apply(ls_overlay *ov, const ls_lesion *lesion, ls_error *err);

/* The view to run: untouched ids point at the clean arrays. Valid until
 * the next apply, reset or free. */
ls_weights ls_overlay_view(const ls_overlay *ov);

/* Undoes every lesion: frees the private copies and the statistics; the
 * view is the clean one again, pointer for pointer. */
void ls_overlay_reset(ls_overlay *ov);
void ls_overlay_free(ls_overlay *ov);

/* Bytes of private tensor copies held. */
size_t ls_overlay_bytes(const ls_overlay *ov);

/* The statistics of every group lesioned since the last reset, in order of
 * application; *n gets the count. Valid until the next apply, reset or free. */
const ls_slice_stats *ls_overlay_stats(const ls_overlay *ov, int *n);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
