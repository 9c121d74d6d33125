// The one image loader of the project: every command reads images through here.
//
// Images come back as 8-bit, 3-channel RGB (OpenCV's native BGR is converted once, here), so the
// rest of the code never has to remember OpenCV's channel order.
#pragma once
#include <opencv2/core.hpp>
#include <string>

namespace skintriage {

/// Decodes an image file to 8-bit RGB; InputError naming the path when missing or corrupt.
cv::Mat load_image_rgb(const std::string& path);
/// Decodes image bytes (e.g. an upload) to 8-bit RGB; InputError naming `what` when not an image.
cv::Mat decode_image_rgb(const std::string& bytes, const std::string& what);
/// Removes `border` pixels from each side (derm7pt's images have a dark frame); a border that
/// would leave less than a quarter of a side is clamped so the result is never empty.
cv::Mat crop_border(const cv::Mat& image, int border);
/// Encodes 8-bit RGB as JPEG / PNG bytes.
std::string encode_jpeg_rgb(const cv::Mat& rgb, int quality = 90);
std::string encode_png_rgb(const cv::Mat& rgb);

}  // namespace skintriage
