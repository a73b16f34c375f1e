/* tokenizer.h: see include/lesion.h. */
#ifndef LESION_TOKENIZER_H
#define LESION_TOKENIZER_H
#include <lesion.h>
#endif
