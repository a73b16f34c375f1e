/* damage.c: what a lesion does to the model, measured against the clean model.
 *
 * ls_damage_new runs the clean model once over the eval chunks and keeps
 * (a) the residual stream entering every block and after the last one, and
 * (b) the clean next-token log-probabilities. Measuring a lesioned view then
 * restarts from the first block whose weights differ from the clean ones
 * (found by comparing the view's tensor pointers with the clean view's: an
 * overlay only swaps the tensors it changed), so a lesion at layer L does
 * not recompute layers 0..L-1. Generation and the clean model's judgement of
 * the generated text (fluency) use the KV cache.
 *
 * Activation interventions (setup.hooks) run in every pass, the clean one
 * included, so that the baseline is "clean + interventions"; a measurement
 * may bring more (ls_damage_measure_hooked), and prefix reuse then restarts
 * at the earliest layer either a weight or an added intervention changes.
 * The fluency judge is always the untouched clean model.
 *
 * Every measured pass also records each layer's mean normalised attention
 * entropy (context.c's definition, computed from the softmax rows as they
 * are made): the sweep's per-layer picture of why text degrades.
 *
 * Memory: (n_layer + 1) * n_tokens * n_embd floats of residuals plus
 * n_tokens * vocab floats of clean log-probs. */
#include <lesion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ls_damage {
    ls_damage_setup setup;
    ls_weights clean;
    int n_chunks;       /* eval chunks of ctx tokens */
    int64_t n_scored;   /* chunks * (ctx - 1) */
    float *resid;       /* (L+1, n_chunks, ctx, C) clean residual entering block l; l = L after the last block */
    float *clean_logp;  /* (n_chunks, ctx-1, V) clean log-probabilities */
    float *x;           /* (batch, ctx, C) working residual */
    float *logits;      /* (batch*(ctx-1), V) */
    double *row_terms;  /* (batch*(ctx-1), 2) each scored position's NLL and KL, summed in order */
    ls_state *st;       /* (batch, ctx) */
    ls_state *gen;      /* (1, longest prompt + gen_tokens) */
    float *gen_logits;  /* (longest prompt + gen_tokens, V) */
    ls_damage_row clean_row;
    ls_hooks base;      /* setup.hooks, copied (ask NULL: none) */
    double *clean_entropy; /* (L) the clean pass's per-layer attention entropy */
};

/* Queries before this window position are left out of the attention entropy (context.c). */
static int entropy_min_pos(int T) { return T > LS_CONTEXT_MIN_POS ? LS_CONTEXT_MIN_POS : 1; }

static int64_t resid_offset(const ls_damage *d, int layer, int chunk) {
    const ls_config *c = d->clean.cfg;
    return (((int64_t)layer * d->n_chunks + chunk) * d->setup.ctx) * c->n_embd;
}

/* Row-wise log-softmax of n rows of V logits into out. */
static void log_softmax_rows(const float *logits, int64_t n, int V, float *out, int n_threads) {
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        double lse = ls_log_softmax_row(logits + i * V, V, NULL);
        for (int v = 0; v < V; v++) out[i * V + v] = (float)(logits[i * V + v] - lse);
    }
}

/* Generates from every prompt with view w and scores the text with the clean model. */
static int measure_generation(ls_damage *d, const ls_weights *w, const ls_hooks *hooks, ls_damage_row *row,
                              ls_error *err) {
    const ls_damage_setup *su = &d->setup;
    const int V = d->clean.cfg->vocab_size;
    double gen_ppl = 0, rep = 0, dist = 0;
    for (int p = 0; p < su->n_prompts; p++) {
        int np = su->prompt_lens[p], n_out = 0;
        ls_sampler sp = su->sampler;
        sp.seed = su->sampler.seed + (uint64_t)p;
        int32_t *ids = row->gen_ids + (int64_t)p * su->gen_tokens;
        if (ls_state_set_hooks(d->gen, hooks, err) != 0) return -1;
        int grc = ls_generate(d->gen, w, su->prompts[p], np, su->gen_tokens, &sp, -1, ids, &n_out, err);
        ls_state_set_hooks(d->gen, NULL, NULL); /* the judge is the untouched clean model */
        if (grc != 0) return -1;
        row->gen_lens[p] = n_out;
        /* Fluency: mean clean-model NLL of the generated tokens given the prompt. */
        int32_t *all = malloc((size_t)(np + n_out) * sizeof *all);
        if (!all) return ls_fail(err, "out of memory");
        memcpy(all, su->prompts[p], (size_t)np * sizeof *all);
        memcpy(all + np, ids, (size_t)n_out * sizeof *all);
        int rc = ls_forward(d->gen, &d->clean, all, 1, np + n_out, 0, d->gen_logits, LS_LOGITS_ALL, err);
        double nll = 0;
        for (int t = np - 1; rc == 0 && t < np + n_out - 1; t++) {
            const float *r = d->gen_logits + (int64_t)t * V;
            nll += ls_log_softmax_row(r, V, NULL) - r[all[t + 1]];
        }
        free(all);
        if (rc != 0) return -1;
        gen_ppl += n_out ? exp(nll / n_out) : NAN;
        rep += ls_repeated_ngram_fraction(ids, n_out, 4);
        dist += ls_distinct_ngrams(ids, n_out, 2);
    }
    row->gen_ppl = gen_ppl / su->n_prompts;
    row->rep4 = rep / su->n_prompts;
    row->distinct2 = dist / su->n_prompts;
    return 0;
}

/* First block whose inputs differ from clean: 0 if an embedding changed,
 * n_layer if only the final norm or the output matrix did. */
static int first_changed_layer(const ls_damage *d, const ls_weights *w, int *reembed) {
    const ls_config *c = d->clean.cfg;
    *reembed = w->t[LS_EMBED] != d->clean.t[LS_EMBED] || w->t[LS_POS_EMBED] != d->clean.t[LS_POS_EMBED];
    if (*reembed) return 0;
    for (int l = 0; l < c->n_layer; l++)
        for (int r = 0; r < LS_LAYER_ROLES; r++)
            if (w->t[ls_layer_tensor(l, (ls_layer_role)r)] != d->clean.t[ls_layer_tensor(l, (ls_layer_role)r)]) return l;
    return c->n_layer;
}

int ls_damage_measure(ls_damage *d, const ls_weights *w, ls_damage_row *row, ls_error *err) {
    return ls_damage_measure_hooked(d, w, NULL, row, err);
}

int ls_damage_measure_hooked(ls_damage *d, const ls_weights *w, const ls_hooks *hooks, ls_damage_row *row,
                             ls_error *err) {
    const ls_config *c = d->clean.cfg;
    const int T = d->setup.ctx, V = c->vocab_size, C = c->n_embd, nt = d->setup.n_threads;
    const ls_hooks *h = hooks ? hooks : d->base.ask ? &d->base : NULL;
    int reembed, start = first_changed_layer(d, w, &reembed);
    /* An added intervention at layer l changes the stream entering l + 1 on:
     * the cached clean input of blocks <= l is still right. */
    if (hooks && hooks->ask && hooks->first_write_layer < start) start = hooks->first_write_layer;
    if (start < 0) start = 0;
    if (!d->setup.reuse_prefix) start = 0, reembed = 1;
    if (ls_state_set_hooks(d->st, h, err) != 0) return -1;
    row->first_layer = start;
    double nll = 0, kl = 0;
    int64_t agree = 0;
    /* Attention entropy of the recomputed layers; the others are the clean pass's. */
    ls_context_stats *ent = NULL;
    if (row->attn_entropy && start < c->n_layer &&
        ls_context_stats_new(&ent, c, T, entropy_min_pos(T), 1, err) != 0)
        return -1;
    for (int ch = 0; ch < d->n_chunks; ch += d->setup.batch) {
        int B = d->n_chunks - ch < d->setup.batch ? d->n_chunks - ch : d->setup.batch;
        const int32_t *tok = d->setup.tokens + (int64_t)ch * T;
        if (reembed) ls_embed(d->st, w, tok, B, T, 0, d->x);
        else memcpy(d->x, d->resid + resid_offset(d, start, ch), (size_t)B * T * C * sizeof(float));
        for (int l = start; l < c->n_layer; l++) {
            ls_block(d->st, w, l, d->x, B, T, 0);
            if (ent) ls_context_add_attention(ent, d->st, B, T, l, l + 1);
        }
        for (int b = 0; b < B; b++) ls_head(d->st, w, d->x + (int64_t)b * T * C, T - 1, d->logits + (int64_t)b * (T - 1) * V);
        int64_t rows = (int64_t)B * (T - 1);
        double *terms = d->row_terms;
        /* Each thread writes its rows' terms; the sums below run in row order, so
         * a row's numbers do not depend on which thread finished first (an OpenMP
         * reduction adds partial sums in arrival order: last-bit differences). */
#pragma omp parallel for num_threads(nt) schedule(static) reduction(+ : agree)
        for (int64_t i = 0; i < rows; i++) {
            int64_t b = i / (T - 1), t = i % (T - 1);
            const float *lg = d->logits + i * V;
            const float *cl = d->clean_logp + ((int64_t)ch * (T - 1) + i) * V;
            double lse = ls_log_softmax_row(lg, V, NULL), k = 0;
            int32_t target = tok[b * T + t + 1];
            int am_l = 0, am_c = 0;
            for (int v = 0; v < V; v++) {
                /* lp rounded to float as the clean log-probabilities were, so that
                 * identical logits give KL exactly 0, not a rounding residue */
                double lp = (float)(lg[v] - lse), cp = cl[v];
                k += exp(cp) * (cp - lp);
                if (lg[v] > lg[am_l]) am_l = v;
                if (cl[v] > cl[am_c]) am_c = v;
            }
            terms[2 * i] = lse - lg[target];
            terms[2 * i + 1] = k > 0 ? k : 0; /* KL >= 0; a negative sum is float rounding */
            agree += am_l == am_c;
        }
        for (int64_t i = 0; i < rows; i++) nll += terms[2 * i], kl += terms[2 * i + 1];
    }
    row->cross_entropy = nll / (double)d->n_scored;
    row->perplexity = exp(row->cross_entropy);
    row->kl = kl / (double)d->n_scored;
    row->top1 = (double)agree / (double)d->n_scored;
    if (row->attn_entropy)
        for (int l = 0; l < c->n_layer; l++)
            row->attn_entropy[l] = ent && l >= start ? ls_context_layer_entropy(ent, l) : d->clean_entropy[l];
    ls_context_stats_free(ent);
    return measure_generation(d, w, h, row, err);
}

int ls_damage_new(ls_damage **out, const ls_weights *clean, const ls_damage_setup *setup, ls_error *err) {
    *out = NULL;
    const ls_config *c = clean->cfg;
    const int T = setup->ctx, V = c->vocab_size, C = c->n_embd;
    if (T < 2 || T > c->n_ctx) return ls_fail(err, "eval window %d: expected 2..%d", T, c->n_ctx);
    int n_chunks = (int)(setup->n_tokens / T);
    if (n_chunks < 1)
        return ls_fail(err, "eval text has %lld tokens; need at least one window of %d", (long long)setup->n_tokens, T);
    if (setup->n_prompts < 1) return ls_fail(err, "need at least one prompt");
    int longest = 0;
    for (int p = 0; p < setup->n_prompts; p++) {
        if (setup->prompt_lens[p] < 1) return ls_fail(err, "prompt %d is empty", p + 1);
        longest = setup->prompt_lens[p] > longest ? setup->prompt_lens[p] : longest;
    }
    if (longest + setup->gen_tokens > c->n_ctx)
        return ls_fail(err, "prompt of %d tokens + %d generated exceed the context %d", longest, setup->gen_tokens, c->n_ctx);
    ls_damage *d = calloc(1, sizeof *d);
    if (!d) return ls_fail(err, "out of memory");
    d->setup = *setup;
    if (d->setup.batch < 1) d->setup.batch = 1;
    if (d->setup.batch > n_chunks) d->setup.batch = n_chunks;
    d->clean = *clean;
    if (setup->hooks) d->base = *setup->hooks;
    d->setup.hooks = NULL; /* d->base is the copy */
    d->n_chunks = n_chunks;
    d->n_scored = (int64_t)n_chunks * (T - 1);
    int B = d->setup.batch, G = longest + setup->gen_tokens;
    d->resid = malloc((size_t)(c->n_layer + 1) * (size_t)n_chunks * (size_t)T * (size_t)C * sizeof(float));
    d->clean_logp = malloc((size_t)d->n_scored * (size_t)V * sizeof(float));
    d->x = malloc((size_t)B * T * C * sizeof(float));
    d->logits = malloc((size_t)B * (T - 1) * (size_t)V * sizeof(float));
    d->row_terms = malloc((size_t)B * (T - 1) * 2 * sizeof(double));
    d->gen_logits = malloc((size_t)G * (size_t)V * sizeof(float));
    d->clean_row.gen_ids = malloc((size_t)setup->n_prompts * (size_t)setup->gen_tokens * sizeof(int32_t) + 4);
    d->clean_row.gen_lens = malloc((size_t)setup->n_prompts * sizeof(int));
    d->clean_row.n_layer = c->n_layer;
    d->clean_row.attn_entropy = calloc((size_t)c->n_layer, sizeof(double));
    int rc = (d->resid && d->clean_logp && d->x && d->logits && d->row_terms && d->gen_logits && d->clean_row.gen_ids &&
              d->clean_row.gen_lens && d->clean_row.attn_entropy)
                 ? 0
                 : ls_fail(err, "out of memory caching the clean pass (%d windows of %d tokens)", n_chunks, T);
    d->clean_entropy = calloc((size_t)c->n_layer, sizeof *d->clean_entropy);
    if (rc == 0 && !d->clean_entropy) rc = ls_fail(err, "out of memory");
    if (rc == 0) rc = ls_state_new(&d->st, c, B, T, setup->n_threads, err);
    if (rc == 0) rc = ls_state_track_attention(d->st, 1, err); /* the per-layer entropy rides along (no second pass) */
    if (rc == 0 && d->base.ask) rc = ls_state_set_hooks(d->st, &d->base, err);
    ls_context_stats *ent = NULL;
    if (rc == 0) rc = ls_context_stats_new(&ent, c, T, entropy_min_pos(T), 1, err);
    if (rc == 0) rc = ls_state_new(&d->gen, c, 1, G, setup->n_threads, err);
    /* The clean pass: keep every block's input, and the clean log-probabilities. */
    for (int ch = 0; rc == 0 && ch < n_chunks; ch += B) {
        int nb = n_chunks - ch < B ? n_chunks - ch : B;
        const int32_t *tok = setup->tokens + (int64_t)ch * T;
        for (int64_t i = 0; i < (int64_t)nb * T; i++)
            if (tok[i] < 0 || tok[i] >= V) rc = ls_fail(err, "eval token %d outside the vocabulary", tok[i]);
        if (rc) break;
        ls_embed(d->st, clean, tok, nb, T, 0, d->x);
        for (int l = 0; l <= c->n_layer; l++) {
            memcpy(d->resid + resid_offset(d, l, ch), d->x, (size_t)nb * T * C * sizeof(float));
            if (l < c->n_layer) {
                ls_block(d->st, clean, l, d->x, nb, T, 0);
                ls_context_add_attention(ent, d->st, nb, T, l, l + 1);
            }
        }
        for (int b = 0; b < nb; b++) ls_head(d->st, clean, d->x + (int64_t)b * T * C, T - 1, d->logits + (int64_t)b * (T - 1) * V);
        log_softmax_rows(d->logits, (int64_t)nb * (T - 1), V, d->clean_logp + (int64_t)ch * (T - 1) * V,
                         setup->n_threads);
    }
    for (int l = 0; rc == 0 && l < c->n_layer; l++) d->clean_entropy[l] = ls_context_layer_entropy(ent, l);
    ls_context_stats_free(ent);
    if (rc == 0) rc = ls_damage_measure(d, clean, &d->clean_row, err);
    if (rc != 0) {
        ls_damage_free(d);
        return -1;
    }
    *out = d;
    return 0;
}

const ls_damage_row *ls_damage_clean(const ls_damage *d) { return &d->clean_row; }

int ls_damage_row_alloc(const ls_damage *d, ls_damage_row *row) {
    memset(row, 0, sizeof *row);
    row->gen_ids = malloc((size_t)d->setup.n_prompts * (size_t)d->setup.gen_tokens * sizeof(int32_t) + 4);
    row->gen_lens = calloc((size_t)d->setup.n_prompts, sizeof(int));
    row->n_layer = d->clean.cfg->n_layer;
    row->attn_entropy = calloc((size_t)row->n_layer, sizeof *row->attn_entropy);
    return row->gen_ids && row->gen_lens && row->attn_entropy ? 0 : -1;
}

void ls_damage_row_free(ls_damage_row *row) {
    free(row->gen_ids);
    free(row->gen_lens);
    free(row->attn_entropy);
    memset(row, 0, sizeof *row);
}

void ls_damage_free(ls_damage *d) {
    if (!d) return;
    free(d->resid);
    free(d->clean_logp);
    free(d->x);
    free(d->logits);
    free(d->row_terms);
    free(d->gen_logits);
    ls_damage_row_free(&d->clean_row);
    free(d->clean_entropy);
    ls_state_free(d->st);
    ls_state_free(d->gen);
    free(d);
}
