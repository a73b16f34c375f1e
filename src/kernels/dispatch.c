/* dispatch.c: which ISA path lesion's own kernels take (simd.h).
 *
 * The active table is resolved once from CPUID, on the first kernel call,
 * and can be narrowed (or widened back, up to what the CPU runs) by
 * ls_isa_select: the CLI does that for $LESION_ISA, the tests to run every
 * path in one process. It is the library's only process-wide state; it
 * describes the hardware, and every path computes the same bits. */
#include "lesion/cpu.h"
#include "kernels/simd.h"

#include <stdatomic.h>
#include <string.h>

static const ls_simd_kernels *const tables[LS_ISA_COUNT] = {&ls_simd_generic, &ls_simd_avx2, &ls_simd_avx512,
                                                             &ls_simd_avx512bf16};

static _Atomic(const ls_simd_kernels *) active;

const ls_simd_kernels *ls_simd(void) {
    const ls_simd_kernels *k = atomic_load_explicit(&active, memory_order_acquire);
    if (k) return k;
    ls_cpu_info cpu;
    ls_cpu_detect(&cpu);
    k = tables[ls_isa_best(&cpu)];
    /* Two threads racing here store the same table. */
    atomic_store_explicit(&active, k, memory_order_release);
    return k;
}

ls_isa ls_isa_active(void) { return ls_simd()->isa; }

int ls_isa_select(ls_isa isa, ls_error *err) {
    ls_cpu_info cpu;
    ls_cpu_detect(&cpu);
    if (isa < 0 || isa >= LS_ISA_COUNT) return ls_fail(err, "unknown ISA path %d", (int)isa);
    if (!ls_isa_supported(&cpu, isa))
        return ls_fail(err, "this CPU (%s) cannot run the %s kernels (it can run up to %s)",
                       cpu.model_name[0] ? cpu.model_name : cpu.vendor, ls_isa_name(isa),
                       ls_isa_name(ls_isa_best(&cpu)));
    atomic_store_explicit(&active, tables[isa], memory_order_release);
    return 0;
}

int ls_isa_select_by_name(const char *name, ls_error *err) {
    if (strcmp(name, "auto") == 0) {
        ls_cpu_info cpu;
        ls_cpu_detect(&cpu);
        return ls_isa_select(ls_isa_best(&cpu), err);
    }
    for (int i = 0; i < LS_ISA_COUNT; i++)
        if (strcmp(name, ls_isa_name((ls_isa)i)) == 0) return ls_isa_select((ls_isa)i, err);
    return ls_fail(err, "\"%s\" is not an ISA path (expected generic, avx2, avx512, avx512bf16 or auto)", name);
}
