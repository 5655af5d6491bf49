/* emu.h - what a C test driver sees of the host SIMT emulator (cuda_emu.h,
 * emu.cpp): its counters of launches and faults. */
#ifndef VL_TEST_EMU_H
#define VL_TEST_EMU_H

#ifdef __cplusplus
extern "C" {
#endif

/* Kernel launches run so far (those refused for their shape not counted). */
unsigned long emu_launches(void);
/* Faults so far: barriers or shuffles a device would hang or misbehave on,
 * each also printed on stderr (cuda_emu.h's top says which). */
unsigned long emu_faults(void);

#ifdef __cplusplus
}
#endif

#endif
