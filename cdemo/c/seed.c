/*
 * seed.c: the switch-state coroutine of Tatham's "Coroutines in C", exactly as written
 * there. Its state lives in static variables, so there is one instance
 * per loaded library: the first three calls return 0, 1, 2.
 *
 * The case 1 label inside the for loop is Duff's device: switch (s) jumps
 * straight back into the loop body, after the return that suspended it.
 */

int coroutine() {
    static int i = 0, s = 0;
    switch (s) {
        case 0:
            for (i = 0;; ++i) {
                if (!s) s = 1;
                return i;
                case 1:;
            }
    }
}
