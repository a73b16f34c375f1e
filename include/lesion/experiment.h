/* experiment.h: see include/lesion.h. */
#ifndef LESION_EXPERIMENT_H
#define LESION_EXPERIMENT_H
#include <lesion.h>
#endif
