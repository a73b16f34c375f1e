/* test_util.h: what the cmocka unit tests share.
 *
 * Tests run from the repository root (tests/run.sh does this), so fixture
 * paths are relative to it. Each test file states at its top what it proves. */
#ifndef LESION_TEST_UTIL_H
#define LESION_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lesion.h>

#define FIXTURE_TINY "tests/fixtures/tiny-gpt2"

#endif
