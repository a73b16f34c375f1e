/* kernels.h: see include/lesion.h. */
#ifndef LESION_KERNELS_H
#define LESION_KERNELS_H
#include "lesion.h"
#endif
