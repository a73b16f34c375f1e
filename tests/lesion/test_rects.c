/* test_rects.c: proves the slice geometry: for every component, exactly
 * which rows and columns of which tensor a spec names (e.g. attn.k@L1H3 is
 * cols C+3D .. C+4D-1 of layer 1's c_attn.weight, all rows), how match
 * groups them, which bias slices with_bias adds (attn.o's only with every
 * head), and that rectangles never overlap and stay inside their tensors.
 * Config: 3 layers, 4 heads, C = 16 (D = 4), V = 20, n_ctx = 8. */
#include "test_util.h"

#include "fake_weights.h"

static ls_config cfg;

typedef struct expect {
    ls_tensor_id id;
    int64_t row0, rows, col0, cols;
    int group, head, is_bias;
} expect;

static void check(const char *spec, const char *match, int with_bias, const expect *want, int n_want) {
    ls_lesion l;
    ls_error err = {{0}};
    if (ls_lesion_parse(&l, &cfg, spec, NULL, match, with_bias, 0, NULL, &err) != 0) fail_msg("%s", err.msg);
    ls_rect *r;
    int n;
    if (ls_lesion_rects(&l, &cfg, &r, &n, &err) != 0) fail_msg("%s", err.msg);
    if (n != n_want) fail_msg("%s: %d rects, expected %d", spec, n, n_want);
    for (int i = 0; i < n; i++) {
        const expect *w = &want[i];
        if (r[i].id != w->id || r[i].row0 != w->row0 || r[i].rows != w->rows || r[i].col0 != w->col0 ||
            r[i].cols != w->cols || r[i].group != w->group || r[i].head != w->head || r[i].is_bias != w->is_bias)
            fail_msg("%s rect %d: got id %d rows %lld+%lld cols %lld+%lld group %d head %d bias %d", spec, i, r[i].id,
                     (long long)r[i].row0, (long long)r[i].rows, (long long)r[i].col0, (long long)r[i].cols, r[i].group,
                     r[i].head, r[i].is_bias);
    }
    free(r);
}

#define CHECK(spec, match, bias, ...)                                       \
    do {                                                                    \
        const expect w_[] = {__VA_ARGS__};                                  \
        check(spec, match, bias, w_, (int)(sizeof w_ / sizeof w_[0]));      \
    } while (0)

enum { C = 16, D = 4 };
#define T(layer, p) ls_layer_tensor(layer, p)

static void test_attention(void **state) {
    (void)state;
    /* attn.k@L1H3: cols C+3D .. C+4D-1 of layer 1's c_attn.weight, every row */
    CHECK("attn.k@L1H3", NULL, 0, {T(1, LS_QKV_W), 0, C, C + 3 * D, D, 0, -1, 0});
    CHECK("attn.q@L0", NULL, 0, {T(0, LS_QKV_W), 0, C, 0, C, 0, -1, 0});
    CHECK("attn.v@L2", NULL, 1, {T(2, LS_QKV_W), 0, C, 2 * C, C, 0, -1, 0}, {T(2, LS_QKV_B), 0, 1, 2 * C, C, 1, -1, 1});
    /* a head range is one rectangle with match tensor, one per head with match head */
    CHECK("attn.q@L0H0-1", NULL, 0, {T(0, LS_QKV_W), 0, C, 0, 2 * D, 0, -1, 0});
    CHECK("attn.q@L0H0-1", "head", 0, {T(0, LS_QKV_W), 0, C, 0, D, 0, 0, 0}, {T(0, LS_QKV_W), 0, C, D, D, 1, 1, 0});
    /* separate heads: two rectangles, one group */
    CHECK("attn.k@L1H0,2", NULL, 1, {T(1, LS_QKV_W), 0, C, C, D, 0, -1, 0}, {T(1, LS_QKV_W), 0, C, C + 2 * D, D, 0, -1, 0},
          {T(1, LS_QKV_B), 0, 1, C, D, 1, -1, 1}, {T(1, LS_QKV_B), 0, 1, C + 2 * D, D, 1, -1, 1});
    CHECK("attn.k@L1H0,2", "head", 1, {T(1, LS_QKV_W), 0, C, C, D, 0, 0, 0}, {T(1, LS_QKV_W), 0, C, C + 2 * D, D, 1, 2, 0},
          {T(1, LS_QKV_B), 0, 1, C, D, 2, 0, 1}, {T(1, LS_QKV_B), 0, 1, C + 2 * D, D, 3, 2, 1});
    /* every layer: one group per tensor */
    CHECK("attn.q@all", NULL, 0, {T(0, LS_QKV_W), 0, C, 0, C, 0, -1, 0}, {T(1, LS_QKV_W), 0, C, 0, C, 1, -1, 0},
          {T(2, LS_QKV_W), 0, C, 0, C, 2, -1, 0});
    CHECK("attn.v@L0,2H3", NULL, 0, {T(0, LS_QKV_W), 0, C, 2 * C + 3 * D, D, 0, -1, 0},
          {T(2, LS_QKV_W), 0, C, 2 * C + 3 * D, D, 1, -1, 0});
}

static void test_attn_o(void **state) {
    (void)state;
    /* head h owns rows h*D .. h*D+D-1 of c_proj.weight */
    CHECK("attn.o@L0H2", NULL, 0, {T(0, LS_ATTN_OUT_W), 2 * D, D, 0, C, 0, -1, 0});
    /* the shared bias only comes with every head */
    CHECK("attn.o@L0H2", NULL, 1, {T(0, LS_ATTN_OUT_W), 2 * D, D, 0, C, 0, -1, 0});
    CHECK("attn.o@L1", NULL, 1, {T(1, LS_ATTN_OUT_W), 0, C, 0, C, 0, -1, 0}, {T(1, LS_ATTN_OUT_B), 0, 1, 0, C, 1, -1, 1});
    CHECK("attn.o@L1H0-3", "head", 1, {T(1, LS_ATTN_OUT_W), 0, D, 0, C, 0, 0, 0}, {T(1, LS_ATTN_OUT_W), D, D, 0, C, 1, 1, 0},
          {T(1, LS_ATTN_OUT_W), 2 * D, D, 0, C, 2, 2, 0}, {T(1, LS_ATTN_OUT_W), 3 * D, D, 0, C, 3, 3, 0},
          {T(1, LS_ATTN_OUT_B), 0, 1, 0, C, 4, -1, 1});
}

static void test_mlp_ln_embeddings(void **state) {
    (void)state;
    CHECK("mlp.fc@L2D10-19", NULL, 1, {T(2, LS_FFN_UP_W), 0, C, 10, 10, 0, -1, 0}, {T(2, LS_FFN_UP_B), 0, 1, 10, 10, 1, -1, 1});
    CHECK("mlp.fc@L0", NULL, 0, {T(0, LS_FFN_UP_W), 0, C, 0, 4 * C, 0, -1, 0});
    CHECK("mlp.proj@L1D3", NULL, 1, {T(1, LS_FFN_DOWN_W), 0, 4 * C, 3, 1, 0, -1, 0},
          {T(1, LS_FFN_DOWN_B), 0, 1, 3, 1, 1, -1, 1});
    CHECK("ln1@L0D1,5", NULL, 1, {T(0, LS_ATTN_NORM_W), 0, 1, 1, 1, 0, -1, 0}, {T(0, LS_ATTN_NORM_W), 0, 1, 5, 1, 0, -1, 0},
          {T(0, LS_ATTN_NORM_B), 0, 1, 1, 1, 1, -1, 1}, {T(0, LS_ATTN_NORM_B), 0, 1, 5, 1, 1, -1, 1});
    CHECK("ln2@L2", NULL, 0, {T(2, LS_FFN_NORM_W), 0, 1, 0, C, 0, -1, 0});
    CHECK("lnf", NULL, 1, {LS_OUT_NORM_W, 0, 1, 0, C, 0, -1, 0}, {LS_OUT_NORM_B, 0, 1, 0, C, 1, -1, 1});
    /* embeddings: D selects columns (embedding dims) of every row; no bias exists */
    CHECK("wte@D0-3", NULL, 1, {LS_EMBED, 0, 20, 0, 4, 0, -1, 0});
    CHECK("wpe", NULL, 0, {LS_POS_EMBED, 0, 8, 0, C, 0, -1, 0});
    CHECK("wpe@D2,7-8", NULL, 0, {LS_POS_EMBED, 0, 8, 2, 1, 0, -1, 0}, {LS_POS_EMBED, 0, 8, 7, 2, 0, -1, 0});
}

/* Every component, every bias and match: in bounds, disjoint, ordered. */
static void test_disjoint_in_bounds(void **state) {
    (void)state;
    const char *specs[] = {"attn.q@all", "attn.k@L0H1,3", "attn.v@L1-2H0-2", "attn.o@all", "attn.o@L2H1,3",
                           "mlp.fc@all", "mlp.fc@L1D0-5,9,60-63", "mlp.proj@L0D2-4", "ln1@all", "ln2@L1D0",
                           "lnf@D3-4", "wte", "wte@D1,3,5", "wpe@D0-15"};
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++)
        for (int bias = 0; bias < 2; bias++)
            for (int m = 0; m < 2; m++) {
                if (m == 1 && strncmp(specs[s], "attn.", 5) != 0) continue;
                ls_lesion l;
                ls_error err = {{0}};
                if (ls_lesion_parse(&l, &cfg, specs[s], NULL, m ? "head" : "tensor", bias, 0, NULL, &err) != 0)
                    fail_msg("%s", err.msg);
                ls_rect *r;
                int n;
                assert_int_equal(ls_lesion_rects(&l, &cfg, &r, &n, &err), 0);
                assert_true(n > 0);
                for (int i = 0; i < n; i++) {
                    ls_tensor_info info;
                    ls_tensor_expected(&cfg, r[i].id, &info);
                    int64_t rows = info.ndim == 2 ? info.shape[0] : 1, cols = info.ndim == 2 ? info.shape[1] : info.shape[0];
                    assert_true(r[i].row0 >= 0 && r[i].rows > 0 && r[i].row0 + r[i].rows <= rows);
                    assert_true(r[i].col0 >= 0 && r[i].cols > 0 && r[i].col0 + r[i].cols <= cols);
                    if (i > 0) {
                        assert_true(r[i].group == r[i - 1].group || r[i].group == r[i - 1].group + 1);
                        if (r[i].group == r[i - 1].group) assert_int_equal(r[i].id, r[i - 1].id);
                    } else {
                        assert_int_equal(r[i].group, 0);
                    }
                    for (int j = 0; j < i; j++) {
                        if (r[j].id != r[i].id) continue;
                        int rows_meet = r[i].row0 < r[j].row0 + r[j].rows && r[j].row0 < r[i].row0 + r[i].rows;
                        int cols_meet = r[i].col0 < r[j].col0 + r[j].cols && r[j].col0 < r[i].col0 + r[i].cols;
                        if (rows_meet && cols_meet) fail_msg("%s: rects %d and %d overlap", specs[s], j, i);
                    }
                }
                free(r);
            }
}

int main(void) {
    cfg = fake_config(3, 4, 16);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attention),
        cmocka_unit_test(test_attn_o),
        cmocka_unit_test(test_mlp_ln_embeddings),
        cmocka_unit_test(test_disjoint_in_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
