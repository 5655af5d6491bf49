/* main.c - placeholder while the command line is written. */
#include <stdio.h>
int main(void)
{
    puts("vlbuild " VL_VERSION);
    return 0;
}
