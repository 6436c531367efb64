#!/usr/bin/python3
"""Trains a small convolutional autoencoder on the Kodak images and writes
its latents, so the latent codec and the token tools can be tested and
benchmarked on real neural latents instead of image patches or Gaussians.

The encoder downsamples 8 x (three stride-2 convolutions) to a latent of
C channels (--channels, default 8), the shape of the latents of learnt
image codecs and of the VQGAN / latent-diffusion family, at a size a CPU
trains in minutes: torch on 2 threads, --minutes of Adam (default 4) on
random 128 x 128 crops (with flips) of kodim01 ... kodim20, MSE on RGB in
[0, 1]. kodim21 ... kodim24 are held out. After training the encoder runs
on each whole image (cropped to a multiple of 8) and each latent is saved
as a float32 .npy [C, H/8, W/8] (portrait images stay portrait):

  OUT/train/kodimNN.npy   kodim01 ... kodim20  (codebook training)
  OUT/held/kodimNN.npy    kodim21 ... kodim24  (measurements)

and, with --fixtures DIR (tests/data/latents to refresh the committed
test fixtures), the held-out latents again in DIR with a README.md
saying how they were made; torch training is not bit-reproducible from
run to run, so the default leaves the committed fixtures alone. The script prints the training loss as it goes and the
PSNR of the reconstruction of the held-out images at the end. Training
stops after --minutes, or after exactly --steps steps when that is given
(the same steps and seed give the same weights on the same build)."""
import argparse
import os
import sys
import time

import numpy as np
import torch
from torch import nn

CROP = 128
TRAIN = ["kodim%02d" % i for i in range(1, 21)]
HELD = ["kodim%02d" % i for i in range(21, 25)]


class AutoEncoder(nn.Module):
    """Three stride-2 stages down to C channels; back up by three 3 x 3
    convolutions each followed by a pixel shuffle (sub-pixel convolution:
    as good as a transposed convolution, and far faster in torch on the
    CPU)."""

    def __init__(self, channels, width=64):
        super().__init__()
        w1, w2, w3 = width // 2, width, width * 2
        self.encoder = nn.Sequential(
            nn.Conv2d(3, w1, 5, 2, 2), nn.GELU(),
            nn.Conv2d(w1, w2, 5, 2, 2), nn.GELU(),
            nn.Conv2d(w2, w3, 5, 2, 2), nn.GELU(),
            nn.Conv2d(w3, channels, 3, 1, 1))
        self.decoder = nn.Sequential(
            nn.Conv2d(channels, w3, 3, 1, 1), nn.GELU(),
            nn.Conv2d(w3, 4 * w2, 3, 1, 1), nn.PixelShuffle(2), nn.GELU(),
            nn.Conv2d(w2, 4 * w1, 3, 1, 1), nn.PixelShuffle(2), nn.GELU(),
            nn.Conv2d(w1, 4 * 3, 3, 1, 1), nn.PixelShuffle(2))

    def encode(self, x):
        return self.encoder(x - 0.5)

    def forward(self, x):
        return self.decoder(self.encode(x)) + 0.5


def load_images(kodak, names):
    """Each image as a float32 tensor [3, H, W] in [0, 1], cropped to a
    multiple of 8."""
    from PIL import Image
    out = []
    for n in names:
        path = os.path.join(kodak, n + ".png")
        if not os.path.exists(path):
            sys.exit("%s missing (use --kodak DIR)" % path)
        rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
        h, w = rgb.shape[0] // 8 * 8, rgb.shape[1] // 8 * 8
        out.append(torch.from_numpy(
            rgb[:h, :w].transpose(2, 0, 1) / 255.0).contiguous())
    return out


def random_batch(images, batch, rng):
    """batch random CROP x CROP crops, flipped at random."""
    crops = []
    for _ in range(batch):
        img = images[rng.integers(len(images))]
        y = rng.integers(img.shape[1] - CROP + 1)
        x = rng.integers(img.shape[2] - CROP + 1)
        c = img[:, y:y + CROP, x:x + CROP]
        if rng.random() < 0.5:
            c = c.flip(2)
        if rng.random() < 0.5:
            c = c.flip(1)
        crops.append(c)
    return torch.stack(crops)


def psnr(model, images):
    """PSNR (peak 1) of the clamped reconstructions, over all pixels of
    all images."""
    se, n = 0.0, 0
    with torch.no_grad():
        for img in images:
            rec = model(img[None]).clamp(0, 1)[0]
            se += float(((rec - img) ** 2).sum())
            n += img.numel()
    return 10.0 * np.log10(n / se)


def train(model, images, a):
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    rng = np.random.default_rng(a.seed)
    budget = a.minutes * 60.0
    start, step, avg = time.time(), 0, None
    while True:
        done = step / a.steps if a.steps else (time.time() - start) / budget
        if done >= 1.0:
            break
        # cosine decay to a tenth of the rate over the budget
        for g in opt.param_groups:
            g["lr"] = a.lr * (0.55 + 0.45 * np.cos(np.pi * done))
        x = random_batch(images, a.batch, rng)
        loss = nn.functional.mse_loss(model(x), x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        avg = float(loss) if avg is None else 0.98 * avg + 0.02 * float(loss)
        if step % a.log_every == 0:
            print("step %5d  %6.1f s  loss %.5f  (%.2f dB)  lr %.2e" %
                  (step, time.time() - start, avg, -10 * np.log10(avg),
                   opt.param_groups[0]["lr"]), flush=True)
    return step, avg, time.time() - start


def save_latents(model, images, names, folder):
    os.makedirs(folder, exist_ok=True)
    sizes = []
    with torch.no_grad():
        for img, n in zip(images, names):
            z = model.encode(img[None])[0].numpy().astype(np.float32)
            path = os.path.join(folder, n + ".npy")
            np.save(path, z)
            sizes.append((n, z.shape, os.path.getsize(path)))
    return sizes


def write_readme(folder, a, steps, loss, held_psnr, sizes):
    cmd = " ".join(["bench/train_autoencoder.py"] + sys.argv[1:])
    lines = [
        "# Autoencoder latents of the held-out Kodak images", "",
        "`kodim21.npy` ... `kodim24.npy`: float32 latents [C, H/8, W/8] of",
        "a small convolutional autoencoder (three stride-2 stages, C = %d"
        % a.channels,
        "channels) trained on random 128 x 128 crops of kodim01 ... kodim20",
        "only; these four images were never seen in training. Made by",
        "", "    " + cmd, "",
        "- channels: %d; batch %d; Adam, lr %g (cosine decay to 0.1x)" %
        (a.channels, a.batch, a.lr),
        "- training: %s, %d steps, 2 CPU threads; final loss %.5f" %
        ("%d steps" % a.steps if a.steps else "%g minutes" % a.minutes,
         steps, loss),
        "- seed: %d (torch.manual_seed, numpy)" % a.seed,
        "- torch %s, numpy %s" % (torch.__version__, np.__version__),
        "- held-out reconstruction PSNR (RGB, peak 1): %.2f dB" % held_psnr,
        "- date: %s" % time.strftime("%Y-%m-%d"), "",
        "| file | shape | bytes |", "|---|---|---|"]
    lines += ["| %s.npy | %s | %d |" % (n, "x".join(map(str, s)), b)
              for n, s, b in sizes]
    lines += ["", "A time-limited run is not bit-reproducible (the number of",
              "steps depends on the machine); `--steps N` is.", ""]
    with open(os.path.join(folder, "README.md"), "w") as f:
        f.write("\n".join(lines))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kodak", default=os.path.join(
        os.path.dirname(os.path.dirname(here)), "shared", "data", "kodak"))
    ap.add_argument("--channels", type=int, default=8,
                    help="latent channels C (default 8; 4 to 16 typical)")
    ap.add_argument("--minutes", type=float, default=4.0)
    ap.add_argument("--steps", type=int, default=0,
                    help="train exactly this many steps instead")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--log-every", type=int, default=100)
    ap.add_argument("--out", default="/tmp/latents",
                    help="latents of all 24 images go to OUT/train, OUT/held")
    ap.add_argument("--fixtures", default="",
                    help="also write the held-out latents and a README.md "
                    "here (tests/data/latents: the test fixtures)")
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    torch.set_num_threads(2)
    train_imgs = load_images(a.kodak, TRAIN)
    held_imgs = load_images(a.kodak, HELD)
    model = AutoEncoder(a.channels)
    print("autoencoder: %d parameters, latent %d channels, /8; torch %s" %
          (sum(p.numel() for p in model.parameters()), a.channels,
           torch.__version__), flush=True)
    steps, loss, secs = train(model, train_imgs, a)
    model.eval()
    held = psnr(model, held_imgs)
    print("trained %d steps in %.1f s; final loss %.5f (%.2f dB on crops)"
          % (steps, secs, loss, -10 * np.log10(loss)))
    print("held-out PSNR (kodim21-24, whole images): %.2f dB" % held)
    save_latents(model, train_imgs, TRAIN, os.path.join(a.out, "train"))
    sizes = save_latents(model, held_imgs, HELD, os.path.join(a.out, "held"))
    print("latents: %s/train (%d), %s/held (%d)" %
          (a.out, len(TRAIN), a.out, len(HELD)))
    if a.fixtures:
        save_latents(model, held_imgs, HELD, a.fixtures)
        write_readme(a.fixtures, a, steps, loss, held, sizes)
        print("fixtures: %s (%d bytes)" % (a.fixtures, sum(
            b for _, _, b in sizes)))


if __name__ == "__main__":
    main()
