/* pt_switch.c: the protothread generators with switch/__LINE__ local
 * continuations: loop_pt_switch and loop_pt_switch_inner. */
#define PT_LOOP(suffix) loop_pt_switch##suffix
#include "pt_gens.h"
