/* pt_goto.c: the protothread generators with computed-goto local
 * continuations (GCC/Clang labels as values): loop_pt_goto and
 * loop_pt_goto_inner. */
#define LC_GOTO 1
#define PT_LOOP(suffix) loop_pt_goto##suffix
#include "pt_gens.h"
