#include "io/detail/jpeg_reader.hpp"

#include <csetjmp>
#include <cstdio>

#include <jpeglib.h>
#include <jerror.h>

#include "io/detail/image_formats.hpp"

namespace satx::io::detail {

namespace {

struct ErrorManager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char error[JMSG_LENGTH_MAX];
  char damage[JMSG_LENGTH_MAX];  // first warning that means missing or corrupt pixel data
  bool damaged;
  bool hit_end;  // the data ran out: the usual cause of every other warning in a truncated file
};

void on_error(j_common_ptr cinfo) {
  auto* manager = reinterpret_cast<ErrorManager*>(cinfo->err);
  cinfo->err->format_message(cinfo, manager->error);
  std::longjmp(manager->jump, 1);
}

// Warnings whose presence means the pixels are not what the encoder wrote. Others (extra bytes
// before a marker, an unusual JFIF version, a bogus ICC profile) leave the image intact.
bool warning_damages_pixels(int code) {
  switch (code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
    case JWRN_BOGUS_PROGRESSION:
      return true;
    default:
      return false;
  }
}

void on_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;  // trace output
  auto* manager = reinterpret_cast<ErrorManager*>(cinfo->err);
  cinfo->err->num_warnings++;
  if (cinfo->err->msg_code == JWRN_JPEG_EOF) manager->hit_end = true;
  if (!manager->damaged && warning_damages_pixels(cinfo->err->msg_code)) {
    manager->damaged = true;
    cinfo->err->format_message(cinfo, manager->damage);
  }
}

void no_output(j_common_ptr) {}

// Everything between setjmp and longjmp here is plain C state or lives in the caller's frame
// (`image`), so the jump skips no C++ destructor.
bool run(jpeg_decompress_struct* cinfo, ErrorManager* manager, const uint8_t* data, size_t size,
         int64_t max_pixels, JpegImage& image, std::string& limit_problem) {
  if (setjmp(manager->jump)) return false;
  jpeg_create_decompress(cinfo);
  jpeg_mem_src(cinfo, const_cast<unsigned char*>(data), static_cast<unsigned long>(size));
  jpeg_read_header(cinfo, TRUE);
  image.width = static_cast<int>(cinfo->image_width);
  image.height = static_cast<int>(cinfo->image_height);
  image.components = cinfo->num_components;
  if (cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK) {
    image.needs_fallback = true;
    return true;
  }
  int reduction = 1;
  while (reduction < 8 && !pixel_limit_problem((image.width + reduction - 1) / reduction,
                                               (image.height + reduction - 1) / reduction, max_pixels).empty())
    reduction *= 2;
  limit_problem = pixel_limit_problem((image.width + reduction - 1) / reduction,
                                      (image.height + reduction - 1) / reduction, max_pixels);
  if (!limit_problem.empty()) return true;
  image.reduction = reduction;
  cinfo->scale_num = 1;
  cinfo->scale_denom = static_cast<unsigned>(reduction);
  cinfo->out_color_space = cinfo->num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(cinfo);
  image.pixels.create(static_cast<int>(cinfo->output_height), static_cast<int>(cinfo->output_width),
                      CV_8UC(cinfo->output_components));
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = image.pixels.ptr<uint8_t>(static_cast<int>(cinfo->output_scanline));
    jpeg_read_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_decompress(cinfo);
  return true;
}

}  // namespace

std::string decode_jpeg(const uint8_t* data, size_t size, int64_t max_pixels, JpegImage& image) {
  jpeg_decompress_struct cinfo{};
  ErrorManager manager{};
  cinfo.err = jpeg_std_error(&manager.base);
  manager.base.error_exit = on_error;
  manager.base.emit_message = on_message;
  manager.base.output_message = no_output;
  std::string limit_problem;
  bool ok = run(&cinfo, &manager, data, size, max_pixels, image, limit_problem);
  jpeg_destroy_decompress(&cinfo);
  if (!ok) {
    image.pixels.release();
    return std::string(manager.hit_end ? "truncated JPEG (" : "corrupt JPEG (") + manager.error + ")";
  }
  if (!limit_problem.empty()) {
    image.too_large = true;
    return limit_problem + " (even decoded at 1/8 scale)";
  }
  if (manager.damaged) {
    image.pixels.release();
    return std::string(manager.hit_end ? "truncated JPEG (" : "corrupt JPEG data (") + manager.damage + ")";
  }
  return "";
}

}  // namespace satx::io::detail
