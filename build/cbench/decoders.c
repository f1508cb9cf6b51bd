/* `cargo xtask bench decode`'s C side: spice-gtk 0.42's own decoders
 * (spice-common quic.c, lz.c, canvas_utils.c, mem.c; spice-gtk decode-glz.c,
 * decode-zlib.c, decode-jpeg.c, fetched and built by the xtask), called the
 * way spice-gtk's canvas_get_quic/lz/glz/zlib_glz_rgb/lz4/jpeg call them
 * (canvas_base.c), each image into a fresh surface from canvas_utils.c.
 *
 * usage: decoders LIST PASSES RUNS
 * LIST has one image a line, in decode order: TYPE WIDTH HEIGHT GLZ_DATA_SIZE PATH
 * (TYPE as in the vectors' index.tsv). GLZ and ZLIB_GLZ go through one window,
 * fresh each pass. Prints `checksum HEX` (FNV-1a over the 32-bit pixels of an
 * untimed pass, rows top down, alpha masked off where the surface has none;
 * decode-bench computes the same), then `pass SECONDS` per run: the mean time
 * of one pass over PASSES passes. Any decoder warning aborts. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lz4.h>

#include "common/canvas_utils.h"
#include "common/quic.h"
#include "decode.h"
#include "gio-coroutine.h"
#include "spice-util.h"

/* --- what the decoders need from the rest of spice-gtk and spice-common --- */

gboolean spice_util_get_debug(void) { return FALSE; }

/* decode-glz.c waits here for a referenced image; ours are always in order. */
GCoroutine *g_coroutine_self(void) { return NULL; }
gboolean g_coroutine_condition_wait(GCoroutine *self, GConditionWaitFunc ready, gpointer data)
{
    (void)self;
    return ready(data);
}

void spice_log(GLogLevelFlags level, const char *strloc, const char *function, const char *format, ...)
{
    va_list args;
    (void)level;
    fprintf(stderr, "decoders: %s: %s: ", strloc, function);
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fputc('\n', stderr);
    abort();
}

static SPICE_GNUC_NORETURN void die(const char *fmt, va_list args)
{
    fputs("decoders: ", stderr);
    vfprintf(stderr, fmt, args);
    fputc('\n', stderr);
    exit(1);
}

#define USR_CALLBACKS(Usr, prefix)                                                       \
    static SPICE_GNUC_NORETURN void prefix##_error(Usr *u, const char *fmt, ...)        \
    {                                                                                    \
        va_list args;                                                                    \
        (void)u;                                                                         \
        va_start(args, fmt);                                                             \
        die(fmt, args);                                                                  \
    }                                                                                    \
    static void prefix##_quiet(Usr *u, const char *fmt, ...) { (void)u, (void)fmt; }     \
    static void *prefix##_malloc(Usr *u, int size) { (void)u; return spice_malloc(size); } \
    static void prefix##_free(Usr *u, void *ptr) { (void)u; free(ptr); }
USR_CALLBACKS(QuicUsrContext, quic)
USR_CALLBACKS(LzUsrContext, lz)

/* Every image is one chunk, so there is never more input or more lines. */
static int quic_more_space(QuicUsrContext *u, uint32_t **io, int rows) { (void)u, (void)io, (void)rows; return 0; }
static int quic_more_lines(QuicUsrContext *u, uint8_t **lines) { (void)u, (void)lines; return 0; }
static int lz_more_space(LzUsrContext *u, uint8_t **io) { (void)u, (void)io; return 0; }
static int lz_more_lines(LzUsrContext *u, uint8_t **lines) { (void)u, (void)lines; return 0; }

static SPICE_GNUC_NORETURN void fail(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    die(fmt, args);
}

/* --- the decoders, as canvas_base.c drives them --- */

typedef struct {
    char type[16];
    int width, height;
    uint32_t glz_data_size;
    uint8_t *data;
    size_t len;
} Image;

typedef struct {
    QuicUsrContext quic_usr;
    QuicContext *quic;
    LzUsrContext lz_usr;
    LzContext *lz;
    LzDecodeUsrData lz_out, glz_out;
    SpiceGlzDecoderWindow *window;
    SpiceGlzDecoder *glz;
    SpiceZlibDecoder *zlib;
    SpiceJpegDecoder *jpeg;
} Decoders;

static pixman_image_t *checked(pixman_image_t *s, const Image *im)
{
    if (!s || pixman_image_get_width(s) != im->width || pixman_image_get_height(s) != im->height)
        fail("%s %dx%d: decoded to a different size", im->type, im->width, im->height);
    return s;
}

static pixman_image_t *quic(Decoders *d, const Image *im)
{
    QuicImageType type;
    int w, h;
    if (quic_decode_begin(d->quic, (uint32_t *)im->data, im->len >> 2, &type, &w, &h) == QUIC_ERROR)
        fail("quic_decode_begin failed");
    int alpha = type == QUIC_IMAGE_TYPE_RGBA;
    pixman_image_t *s = surface_create(alpha ? PIXMAN_LE_a8r8g8b8 : PIXMAN_LE_x8r8g8b8, w, h, FALSE);
    if (quic_decode(d->quic, alpha ? QUIC_IMAGE_TYPE_RGBA : QUIC_IMAGE_TYPE_RGB32,
                    (uint8_t *)pixman_image_get_data(s), pixman_image_get_stride(s)) == QUIC_ERROR)
        fail("quic_decode failed");
    return s;
}

static pixman_image_t *lz(Decoders *d, const Image *im)
{
    LzImageType type;
    int w, h, n_pixels, top_down;
    lz_decode_begin(d->lz, im->data, im->len, &type, &w, &h, &n_pixels, &top_down, NULL);
    int alpha = type == LZ_IMAGE_TYPE_RGBA;
    alloc_lz_image_surface(&d->lz_out, alpha ? PIXMAN_LE_a8r8g8b8 : PIXMAN_LE_x8r8g8b8, w, h, n_pixels, top_down);
    int stride = abs(pixman_image_get_stride(d->lz_out.out_surface));
    uint8_t *bits = (uint8_t *)pixman_image_get_data(d->lz_out.out_surface);
    if (!top_down)
        bits -= stride * (h - 1);
    lz_decode(d->lz, alpha ? LZ_IMAGE_TYPE_RGBA : LZ_IMAGE_TYPE_RGB32, bits);
    return d->lz_out.out_surface;
}

static pixman_image_t *glz(Decoders *d, uint8_t *data)
{
    d->glz->ops->decode(d->glz, data, NULL, &d->glz_out);
    return d->glz_out.out_surface; /* the window holds a second reference */
}

static pixman_image_t *zlib_glz(Decoders *d, const Image *im)
{
    uint8_t *glz_data = spice_malloc(im->glz_data_size);
    d->zlib->ops->decode(d->zlib, im->data, im->len, glz_data, im->glz_data_size);
    pixman_image_t *s = glz(d, glz_data);
    free(glz_data);
    return s;
}

static pixman_image_t *lz4(const Image *im)
{
    const uint8_t *in = im->data + 2, *end = im->data + im->len;
    int top_down = im->data[0] != 0;
    if (im->len < 2 || (im->data[1] != SPICE_BITMAP_FMT_32BIT && im->data[1] != SPICE_BITMAP_FMT_RGBA))
        fail("LZ4: only 32-bit formats are benchmarked");
    pixman_format_code_t format = im->data[1] == SPICE_BITMAP_FMT_RGBA ? PIXMAN_LE_a8r8g8b8 : PIXMAN_LE_x8r8g8b8;
    pixman_image_t *s = surface_create(format, im->width, im->height, top_down);
    int stride = abs(pixman_image_get_stride(s)), available = stride * im->height;
    uint8_t *dest = (uint8_t *)pixman_image_get_data(s);
    if (!top_down)
        dest -= stride * (im->height - 1);
    LZ4_streamDecode_t *stream = LZ4_createStreamDecode();
    while (in < end) {
        if (end - in < 4)
            fail("LZ4: truncated block length");
        uint32_t len = (uint32_t)in[0] << 24 | in[1] << 16 | in[2] << 8 | in[3];
        in += 4;
        if ((size_t)(end - in) < len)
            fail("LZ4: truncated block");
        int n = LZ4_decompress_safe_continue(stream, (const char *)in, (char *)dest, (int)len, available);
        if (n <= 0)
            fail("LZ4: bad block");
        dest += n;
        available -= n;
        in += len;
    }
    LZ4_freeStreamDecode(stream);
    return s;
}

static pixman_image_t *jpeg(Decoders *d, const Image *im)
{
    int w, h;
    d->jpeg->ops->begin_decode(d->jpeg, im->data, im->len, &w, &h);
    pixman_image_t *s = surface_create(PIXMAN_LE_x8r8g8b8, w, h, FALSE);
    d->jpeg->ops->decode(d->jpeg, (uint8_t *)pixman_image_get_data(s), pixman_image_get_stride(s),
                         SPICE_BITMAP_FMT_32BIT);
    return s;
}

static pixman_image_t *decode(Decoders *d, const Image *im)
{
    if (!strcmp(im->type, "QUIC"))
        return checked(quic(d, im), im);
    if (!strcmp(im->type, "LZ_RGB"))
        return checked(lz(d, im), im);
    if (!strcmp(im->type, "GLZ_RGB"))
        return checked(glz(d, im->data), im);
    if (!strcmp(im->type, "ZLIB_GLZ_RGB"))
        return checked(zlib_glz(d, im), im);
    if (!strcmp(im->type, "LZ4"))
        return checked(lz4(im), im);
    if (!strcmp(im->type, "JPEG"))
        return checked(jpeg(d, im), im);
    fail("unknown image type %s", im->type);
}

/* FNV-1a over the pixels, rows top down (pixman's data is the top row, its
 * stride negative for bottom-up surfaces). */
static uint64_t checksum(uint64_t hash, pixman_image_t *s)
{
    uint32_t mask = PIXMAN_FORMAT_A(pixman_image_get_format(s)) ? 0xffffffff : 0x00ffffff;
    const uint8_t *top = (const uint8_t *)pixman_image_get_data(s);
    int width = pixman_image_get_width(s), stride = pixman_image_get_stride(s);
    for (int y = 0; y < pixman_image_get_height(s); y++) {
        const uint32_t *row = (const uint32_t *)(top + (ptrdiff_t)y * stride);
        for (int x = 0; x < width; x++)
            hash = (hash ^ (row[x] & mask)) * 0x100000001b3ull;
    }
    return hash;
}

static uint64_t pass(Decoders *d, const Image *images, int count, int hash)
{
    uint64_t sum = 0xcbf29ce484222325ull;
    d->window = glz_decoder_window_new();
    d->glz = glz_decoder_new(d->window);
    for (int i = 0; i < count; i++) {
        pixman_image_t *s = decode(d, &images[i]);
        if (hash)
            sum = checksum(sum, s);
        pixman_image_unref(s);
    }
    glz_decoder_destroy(d->glz);
    glz_decoder_window_destroy(d->window);
    return sum;
}

static Image *load(const char *list, int *count)
{
    FILE *f = fopen(list, "r");
    if (!f)
        fail("%s: cannot open", list);
    Image *images = NULL;
    char line[4096];
    *count = 0;
    while (fgets(line, sizeof line, f)) {
        Image im = {0};
        int path_at = 0;
        line[strcspn(line, "\n")] = 0;
        if (sscanf(line, "%15s %d %d %u %n", im.type, &im.width, &im.height, &im.glz_data_size, &path_at) != 4 ||
            !path_at)
            fail("%s: bad line: %s", list, line);
        FILE *in = fopen(line + path_at, "rb");
        if (!in || fseek(in, 0, SEEK_END) || (long)(im.len = ftell(in)) < 0 || fseek(in, 0, SEEK_SET))
            fail("%s: cannot read", line + path_at);
        im.data = spice_malloc(im.len + 4);
        if (fread(im.data, 1, im.len, in) != im.len)
            fail("%s: short read", line + path_at);
        fclose(in);
        images = realloc(images, (*count + 1) * sizeof *images);
        images[(*count)++] = im;
    }
    fclose(f);
    return images;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 4)
        fail("usage: decoders LIST PASSES RUNS");
    int count, passes = atoi(argv[2]), runs = atoi(argv[3]);
    Image *images = load(argv[1], &count);
    /* A failed g_return_if_fail or a g_warning in a decoder means a wrong decode. */
    g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);

    Decoders d = {
        .quic_usr = {quic_error, quic_quiet, quic_quiet, quic_malloc, quic_free, quic_more_space, quic_more_lines},
        .lz_usr = {lz_error, lz_quiet, lz_quiet, lz_malloc, lz_free, lz_more_space, lz_more_lines},
    };
    d.quic = quic_create(&d.quic_usr);
    d.lz = lz_create(&d.lz_usr);
    d.zlib = zlib_decoder_new();
    d.jpeg = jpeg_decoder_new();

    printf("checksum %016llx\n", (unsigned long long)pass(&d, images, count, 1));
    for (int r = 0; r < runs; r++) {
        double start = now();
        for (int p = 0; p < passes; p++)
            pass(&d, images, count, 0);
        printf("pass %.9f\n", (now() - start) / passes);
    }
    return 0;
}
