#include "data/image.h"

#include <algorithm>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "core/error.h"
#include "core/files.h"

namespace skintriage {

static cv::Mat to_rgb(const cv::Mat& decoded) {
  cv::Mat rgb;
  if (decoded.channels() == 1)
    cv::cvtColor(decoded, rgb, cv::COLOR_GRAY2RGB);
  else if (decoded.channels() == 4)
    cv::cvtColor(decoded, rgb, cv::COLOR_BGRA2RGB);
  else
    cv::cvtColor(decoded, rgb, cv::COLOR_BGR2RGB);
  if (rgb.depth() != CV_8U) rgb.convertTo(rgb, CV_8U);
  return rgb;
}

cv::Mat load_image_rgb(const std::string& path) {
  if (!file_exists(path)) throw InputError(path + ": image file not found");
  cv::Mat decoded;
  try {
    decoded = cv::imread(path, cv::IMREAD_COLOR);
  } catch (const cv::Exception&) {
    decoded.release();
  }
  if (decoded.empty()) throw InputError(path + ": corrupt or unsupported image");
  return to_rgb(decoded);
}

cv::Mat decode_image_rgb(const std::string& bytes, const std::string& what) {
  if (bytes.empty()) throw InputError(what + ": empty image");
  std::vector<uchar> buf(bytes.begin(), bytes.end());
  cv::Mat decoded;
  try {
    decoded = cv::imdecode(buf, cv::IMREAD_COLOR);
  } catch (const cv::Exception&) {
    decoded.release();
  }
  if (decoded.empty()) throw InputError(what + ": corrupt or unsupported image");
  return to_rgb(decoded);
}

cv::Mat crop_border(const cv::Mat& image, int border) {
  if (border <= 0) return image;
  int bx = std::min(border, image.cols * 3 / 8);
  int by = std::min(border, image.rows * 3 / 8);
  return image(cv::Rect(bx, by, image.cols - 2 * bx, image.rows - 2 * by));
}

std::string encode_jpeg_rgb(const cv::Mat& rgb, int quality) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<uchar> out;
  cv::imencode(".jpg", bgr, out, {cv::IMWRITE_JPEG_QUALITY, quality});
  return std::string(out.begin(), out.end());
}

std::string encode_png_rgb(const cv::Mat& rgb) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<uchar> out;
  cv::imencode(".png", bgr, out);
  return std::string(out.begin(), out.end());
}

}  // namespace skintriage
