/* reader.h - decoded frames in chunks bounded by a memory budget.
 *
 * A reader decodes the best video stream of a file and hands out chunks of
 * frames, display-ready: turned by the display matrix, converted to RGB24
 * (or planar float32 in [0,1]) and optionally scaled; or, for yuv420p
 * (and, by reference, yuvj420p, 4:2:2 and their 10-bit yuv420p10le and
 * yuv422p10le) sources, the decoded planes as they are.  A chunk holds as
 * many frames as fit the budget in bytes (at least one), so memory does not
 * grow with resolution or length.  When told to deliver only some frame
 * indices, it converts only those and seeks over long gaps. */
#ifndef VL_VIDEO_READER_H
#define VL_VIDEO_READER_H

#include <stddef.h>
#include <stdint.h>

#include "ops/ops.h"
#include "util/error.h"

#define VL_READER_DEFAULT_BUDGET (256ull << 20)

/* How swscale interpolates when the output size differs from the source. */
enum vl_reader_interp {
    VL_READER_BICUBIC,  /* the default */
    VL_READER_BILINEAR,
    VL_READER_AREA,
};

/* How the display picture meets the output size (all in one swscale pass:
 * cropping moves the source plane pointers, padding places the picture). */
enum vl_reader_fit {
    VL_READER_STRETCH,   /* the whole picture onto the whole output (or place_w x place_h) */
    VL_READER_CROP,      /* scaled to cover the output, the overflow cut evenly off both sides */
    VL_READER_LETTERBOX, /* scaled to fit inside the output, centred, black bars around */
};

enum vl_frame_layout {
    VL_FRAMES_RGB24,       /* [H][W][3] uint8 per frame */
    VL_FRAMES_F32_PLANAR,  /* [3][H][W] float32 in [0,1] per frame (R, G, B planes) */
    VL_FRAMES_YUV420P,     /* the decoded yuv420p planes as they are: [H][W] Y, then U and V
                              of [(H+1)/2][(W+1)/2]; only for yuv420p sources, not scaled or
                              turned (a frame in another format is an error) */
    VL_FRAMES_YUV_REF,     /* the planes of a yuv420p, yuvj420p, yuv422p, yuvj422p,
                              yuv420p10le or yuv422p10le source not copied: the decoder's
                              own frame, one a chunk, in chunk.plane, chunk.stride,
                              chunk.chroma_height and chunk.sample_bytes (data is NULL);
                              not scaled or turned; every frame must be in the first
                              one's format */
};

struct vl_reader_opts {
    uint64_t memory_budget;      /* bytes of frames per chunk; 0: VL_READER_DEFAULT_BUDGET */
    int threads;                 /* decoder threads; 0: 1 (one per job, parallelism is across jobs) */
    int overlap;                 /* 1: a read of every frame (no indices) to RGB or float
                                    decodes on a thread of its own, up to 16 decoded frames
                                    (32 MiB of them) ahead of the caller's thread, which
                                    converts: the same frames and bytes, in less wall time
                                    where a core is free */
    enum vl_frame_layout layout;
    int width, height;           /* output size after rotation; 0: the display size */
    const int64_t *indices;      /* sorted, unique frame indices to deliver; NULL: every frame */
    size_t n_indices;
    enum vl_reader_interp interp;
    enum vl_reader_fit fit;
    int place_w, place_h;        /* STRETCH: the picture fills only the top-left place_w x
                                    place_h of the output, black elsewhere; 0: all of it */
    /* RGB24 and float layouts: convert through this operations table's
     * converter (ops/ops.h; its context ops_ctx, the caller's) instead of
     * the reader's own CPU converter; the frames still land in host chunk
     * memory.  A picture the table does not take is converted on the CPU
     * (stats.cpu_converted counts them). */
    const struct vl_ops *ops;
    struct vl_ops_ctx *ops_ctx;
    /* 1: decode on CUDA device hw_device (an ordinal of the process's
     * visible devices) through libavcodec's cuda hwaccel (NVDEC), one
     * decoder thread, frames left in device memory for the table above;
     * where the codec, the profile or the machine has no NVDEC the reader
     * decodes on the CPU and says why in stats.hw_note */
    int hw_decode;
    int hw_device;
};

struct vl_chunk {
    int n;                       /* frames in this chunk */
    int width, height;           /* of each frame, after rotation and scaling */
    size_t frame_bytes;
    uint8_t *data;               /* n frames back to back; owned by the reader */
    double *pts;                 /* presentation time of each frame in seconds (as in the file) */
    int64_t *index;              /* index of each frame in presentation order */
    uint8_t *plane[3];           /* VL_FRAMES_YUV_REF: Y, U, V of the frame */
    int stride[3];
    int chroma_height;           /* VL_FRAMES_YUV_REF: rows of U and V ((height+1)/2 for 4:2:0,
                                    height for 4:2:2) */
    int sample_bytes;            /* VL_FRAMES_YUV_REF: 1 (8-bit), or 2 (10-bit: 16-bit
                                    little-endian samples, strides in bytes) */
};

struct vl_reader_stats {
    int64_t packets;        /* packets sent to the decoder that should give a frame */
    int64_t decoded;        /* frames the decoder gave */
    int64_t delivered;      /* frames handed out in chunks */
    int64_t lost;           /* frames lost to corrupt data (packets - decoded, linear reads only) */
    int64_t decode_errors;  /* packets the decoder rejected */
    int64_t seeks;
    int64_t missing;        /* requested indices past the end of the stream */
    int64_t planar;         /* frames scaled through planar GBR (the fast, same-bytes path) */
    int64_t hw_frames;      /* frames decoded on the device (opts.hw_decode) */
    int64_t cpu_converted;  /* frames opts.ops did not take, converted on the CPU */
    char hw_note[192];      /* why opts.hw_decode decoded on the CPU ("" when it did not) */
};

struct vl_reader;

/* Opens path's best video stream for decoding; *out is freed by
 * vl_reader_close.  Errors name the file (no video stream, no decoder...). */
int vl_reader_open(const char *path, const struct vl_reader_opts *opts, struct vl_reader **out,
                   struct vl_error *err);
/* Decodes the next chunk into *chunk (valid until the next call) and returns
 * its frame count: 0 at the end, -1 on an error that stops decoding.
 * Corrupt packets do not stop it; they show in the stats. */
int vl_reader_next_chunk(struct vl_reader *r, struct vl_chunk *chunk, struct vl_error *err);
/* The frames one chunk may hold under the budget. */
int vl_reader_chunk_capacity(const struct vl_reader *r);
/* The output frame size (after rotation and scaling) and rotation applied. */
void vl_reader_geometry(const struct vl_reader *r, int *width, int *height, int *rotation);
/* Where the picture lies in the output (x, y, w, h, display coordinates) for
 * the frames converted so far; the whole output before the first frame. */
void vl_reader_placement(const struct vl_reader *r, int rect[4]);
/* Counters so far; complete once vl_reader_next_chunk returned 0. */
void vl_reader_stats(const struct vl_reader *r, struct vl_reader_stats *stats);
/* Frees everything (NULL is fine). */
void vl_reader_close(struct vl_reader *r);

#endif
