package dev.kindling.data;

import dev.kindling.tensor.Tensor;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * Images in one sub-folder per class (torchvision's ImageFolder): {@code root/cat/1.png}, {@code root/dog/x.jpg}.
 * Classes are the sub-folder names in sorted order (label i = classes().get(i)); images are read with
 * javax.imageio (PNG, JPEG, BMP, GIF), converted to RGB, resized to height x width (bilinear) and scaled to [0, 1].
 *
 * @param data    images [N, 3, height, width] and INT64 labels [N], in class then file-name order
 * @param classes the class names
 */
public record ImageFolder(TensorDataset data, List<String> classes) {
    private static final List<String> EXTENSIONS = List.of(".png", ".jpg", ".jpeg", ".bmp", ".gif");

    public ImageFolder {
        classes = List.copyOf(classes);
    }

    /**
     * Reads every image under {@code root}'s sub-folders; other files are skipped.
     *
     * @throws IllegalArgumentException when root has no class folders or no images, or an image cannot be decoded (naming the file)
     */
    public static ImageFolder load(Path root, int height, int width) {
        if (height <= 0 || width <= 0) throw new IllegalArgumentException("ImageFolder: size must be positive, got " + height + "x" + width);
        if (!Files.isDirectory(root)) throw new IllegalArgumentException("ImageFolder: " + root + " is not a folder");
        try {
            List<Path> classDirs;
            try (Stream<Path> s = Files.list(root)) {
                classDirs = s.filter(Files::isDirectory).sorted().toList();
            }
            if (classDirs.isEmpty()) throw new IllegalArgumentException("ImageFolder: " + root + " has no class sub-folders");
            List<String> classes = new ArrayList<>();
            List<Path> files = new ArrayList<>();
            List<Long> labels = new ArrayList<>();
            for (Path dir : classDirs) {
                classes.add(dir.getFileName().toString());
                try (Stream<Path> s = Files.list(dir)) {
                    for (Path f : s.filter(ImageFolder::isImage).sorted().toList()) {
                        files.add(f);
                        labels.add((long) classes.size() - 1);
                    }
                }
            }
            if (files.isEmpty()) throw new IllegalArgumentException("ImageFolder: no images (" + EXTENSIONS + ") in the class folders of " + root);
            int n = files.size(), plane = height * width;
            float[] x = new float[n * 3 * plane];
            long[] y = new long[n];
            for (int i = 0; i < n; i++) {
                BufferedImage img = ImageIO.read(files.get(i).toFile());
                if (img == null) throw new IllegalArgumentException("ImageFolder: " + files.get(i) + " is not an image javax.imageio can decode");
                BufferedImage rgb = resize(img, height, width);
                for (int r = 0; r < height; r++)
                    for (int c = 0; c < width; c++) {
                        int p = rgb.getRGB(c, r), o = i * 3 * plane + r * width + c;
                        x[o] = ((p >> 16) & 0xFF) / 255f;
                        x[o + plane] = ((p >> 8) & 0xFF) / 255f;
                        x[o + 2 * plane] = (p & 0xFF) / 255f;
                    }
                y[i] = labels.get(i);
            }
            return new ImageFolder(new TensorDataset(Tensor.wrap(x, n, 3, height, width), Tensor.wrapLongs(y, n)), classes);
        } catch (IOException e) {
            throw new UncheckedIOException("ImageFolder: " + e.getMessage(), e);
        }
    }

    private static boolean isImage(Path f) {
        String name = f.getFileName().toString().toLowerCase(Locale.ROOT);
        return Files.isRegularFile(f) && EXTENSIONS.stream().anyMatch(name::endsWith);
    }

    /** The image as RGB at the given size (alpha dropped onto black, as PIL's convert("RGB") does). */
    private static BufferedImage resize(BufferedImage img, int height, int width) {
        BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.drawImage(img, 0, 0, width, height, null);
        } finally {
            g.dispose();
        }
        return out;
    }
}
