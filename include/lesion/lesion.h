/* lesion.h: see include/lesion.h. */
#ifndef LESION_LESION_H
#define LESION_LESION_H
#include <lesion.h>
#endif
