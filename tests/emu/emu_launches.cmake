# emu_launches.cmake - writes the host copy of one CUDA file for the SIMT
# emulator (cuda_emu.h): every launch `k<<<grid, block, shared, stream>>>(`
# becomes `emu_launch(k, grid, block, shared, stream, `, nothing else
# changes, and a #line keeps the compiler's messages on the .cu file.
#   cmake -DIN=src/cuda/nn/kernels.cu -DOUT=BUILD/.../kernels.cpp -P emu_launches.cmake
# A launch whose <<< and >>>( are not on one line is refused: the copy
# would not compile, or worse, would launch the wrong thing.
file(READ "${IN}" text)
string(REGEX REPLACE "([A-Za-z_][A-Za-z0-9_]*)<<<([^\n]*)>>>\\("
       "emu_launch(\\1, \\2, " text "${text}")
if(text MATCHES "<<<|>>>")
  message(FATAL_ERROR "${IN}: a launch the emulator's rewrite does not take "
                      "(its <<< and >>>( on one line)")
endif()
file(WRITE "${OUT}.tmp" "#line 1 \"${IN}\"\n${text}")
file(RENAME "${OUT}.tmp" "${OUT}")
