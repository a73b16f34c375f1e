/* version.c: the version of the library that is actually loaded, so that a
 * binding or program can tell it from the header it was compiled against
 * (LS_VERSION in lesion.h, which also names liblesion.so's soname). */
#include "lesion.h"

const char *ls_version(void) { return LS_VERSION; }
