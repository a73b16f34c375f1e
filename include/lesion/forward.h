/* forward.h: see include/lesion.h. */
#ifndef LESION_FORWARD_H
#define LESION_FORWARD_H
#include <lesion.h>
#endif
