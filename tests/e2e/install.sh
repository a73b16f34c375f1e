#!/usr/bin/env bash
# install.sh: `make install` gives a usable library and CLI.
#   - liblesion.so exports the public API only: every dynamic symbol is ls_*,
#     and none of the ls_* functions declared in the private headers of
#     src/ is visible; its soname is liblesion.so.MAJOR;
#   - installed into a temporary PREFIX, a C program (tests/e2e/install/greedy.c)
#     builds with `pkg-config --cflags --libs lesion` alone, links the
#     installed shared library, opens the installed bundled model
#     (pkg-config --variable=modeldir) and prints the pinned greedy ids of
#     "And God said" (tests/e2e/bundled_model.greedy) and LS_VERSION;
#   - the installed CLI, run from elsewhere without --model, finds the
#     installed model and prints the same ids;
#   - DESTDIR stages the same tree under another root.
# sanitizers: skip (an ASan-built library cannot serve an uninstrumented program)
# Exit 0 pass, 1 fail, 77 when the model is absent; last line "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
[ -f models/kjv-gpt2/model.safetensors ] || { echo "SKIP: models/kjv-gpt2/model.safetensors absent"; exit 77; }
command -v pkg-config >/dev/null || { echo "SKIP: pkg-config absent"; exit 77; }
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
want=$(cat tests/e2e/bundled_model.greedy)
version=$(sed -n 's/^#define LS_VERSION "\(.*\)"/\1/p' include/lesion.h)

# The exports of the shared library.
so=$BUILD/liblesion.so
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "liblesion.so.${version%%.*}" ] && ok "soname $soname" || bad "soname \"$soname\""
nm -D --defined-only "$so" | awk '$2 != "A" {sub(/@.*/, "", $3); print $3}' | sort -u >"$tmp/exports"
others=$(grep -v '^ls_' "$tmp/exports" | head -5 | tr '\n' ' ')
[ -z "$others" ] && ok "every export is ls_* ($(wc -l <"$tmp/exports") symbols)" || bad "non-API exports: $others"
# Declarations only (a line that starts with a type), not mentions in comments.
grep -ohE '^[A-Za-z_][A-Za-z0-9_ *]* \**ls_[a-z0-9_]+\(' src/*/*.h src/*/*/*.h | grep -oE 'ls_[a-z0-9_]+' | sort -u >"$tmp/private"
leaked=$(comm -12 "$tmp/exports" "$tmp/private" | head -5 | tr '\n' ' ')
[ -s "$tmp/private" ] && [ -z "$leaked" ] && ok "none of the $(wc -l <"$tmp/private") private ls_* functions is exported" \
  || bad "private functions exported: $leaked"
for f in ls_model_open ls_forward ls_overlay_apply ls_version; do
  grep -qx "$f" "$tmp/exports" || bad "public $f not exported"
done

# Install into a prefix, build a program against it with pkg-config only.
p=$tmp/prefix
if make --no-print-directory -s install BUILD="$BUILD" PREFIX="$p" DESTDIR= >"$tmp/make.log" 2>&1; then
  ok "make install PREFIX=$p"
else
  bad "make install failed: $(tail -3 "$tmp/make.log")"
fi
export PKG_CONFIG_PATH=$p/lib/pkgconfig
flags=$(pkg-config --cflags --libs lesion 2>&1)
modeldir=$(pkg-config --variable=modeldir lesion)
[ "$(pkg-config --modversion lesion)" = "$version" ] && ok "pkg-config --modversion lesion = $version" || bad "pkg-config: $flags"
if cc -std=c11 -Wall -Wextra -Werror tests/e2e/install/greedy.c $flags -o "$tmp/greedy" 2>"$tmp/cc.log"; then
  ok "cc greedy.c \$(pkg-config --cflags --libs lesion)"
else
  bad "compile against the prefix: $(head -3 "$tmp/cc.log")"
fi
out=$(cd "$tmp" && LD_LIBRARY_PATH=$p/lib ./greedy "$modeldir" "And God said" 24 2>&1)
lib=$(cd "$tmp" && LD_LIBRARY_PATH=$p/lib ldd ./greedy | awk '/liblesion/ {print $3}')
[ "$lib" = "$p/lib/liblesion.so.${version%%.*}" ] && ok "the program loads the installed $lib" || bad "loads \"$lib\""
[ "$(echo "$out" | sed -n 1p)" = "$version" ] && ok "ls_version() = $version" || bad "program printed: $out"
[ "$(echo "$out" | sed -n 2p)" = "$want" ] && ok "greedy ids from the installed library and model equal the pinned ones" \
  || bad "installed library's greedy ids: $out"

# The installed CLI finds the installed model by itself.
got=$(cd "$tmp" && env -u LESION_MODEL "$p/bin/lesion" generate --prompt "And God said" --tokens 24 --json 2>&1 \
      | /usr/bin/python3 -c 'import sys, json; print(",".join(map(str, json.load(sys.stdin)["ids"])))' 2>&1)
[ "$got" = "$want" ] && ok "installed CLI finds $p/share/lesion/models/kjv-gpt2" || bad "installed CLI: $got"

# DESTDIR stages the same files under another root.
make --no-print-directory -s install BUILD="$BUILD" PREFIX=/usr/local DESTDIR="$tmp/stage" >"$tmp/make2.log" 2>&1
missing=""
for f in bin/lesion lib/liblesion.a lib/liblesion.so lib/liblesion.so.${version%%.*} lib/liblesion.so.$version \
         lib/pkgconfig/lesion.pc include/lesion.h include/lesion/model.h share/lesion/models/kjv-gpt2/model.safetensors \
         share/lesion/models/kjv-gpt2/vocab.json; do
  [ -e "$tmp/stage/usr/local/$f" ] || missing="$missing $f"
done
[ -z "$missing" ] && grep -qx 'prefix=/usr/local' "$tmp/stage/usr/local/lib/pkgconfig/lesion.pc" \
  && ok "DESTDIR=$tmp/stage PREFIX=/usr/local stages the tree, lesion.pc says /usr/local" || bad "DESTDIR install lacks:$missing"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
