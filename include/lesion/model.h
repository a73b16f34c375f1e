/* model.h: see include/lesion.h. */
#ifndef LESION_MODEL_H
#define LESION_MODEL_H
#include "lesion.h"
#endif
