"""Run the image CDN on a laptop: embedded S3, a CloudFront emulator, and a Docker-free invoke.

Nothing here ships in the Lambda artifact: the function is `edge/`, and this
package only drives it the way CloudFront and S3 would.
"""
