package dev.kindling.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFolderTest {
    @BeforeAll
    static void headless() {
        System.setProperty("java.awt.headless", "true");
    }

    static void write(Path file, int w, int h, int rgb, String format) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, rgb);
        Files.createDirectories(file.getParent());
        assertTrue(ImageIO.write(img, format, file.toFile()), format);
    }

    @Test
    void readsClassFoldersResizedToTensors(@TempDir Path root) throws IOException {
        write(root.resolve("red/a.png"), 8, 6, 0xFF0000, "png");
        write(root.resolve("red/b.png"), 3, 3, 0xFF0000, "png");
        write(root.resolve("blue/x.jpg"), 10, 10, 0x0000FF, "jpg");
        Files.writeString(root.resolve("blue/notes.txt"), "not an image");
        var folder = ImageFolder.load(root, 4, 5);
        assertEquals(List.of("blue", "red"), folder.classes());
        assertArrayEquals(new int[] {3, 3, 4, 5}, folder.data().inputs().shape());
        assertArrayEquals(new long[] {0, 1, 1}, folder.data().targets().toLongArray());
        assertEquals(1f, folder.data().inputs().get(1, 0, 2, 3), 0);   // red channel of a red image
        assertEquals(0f, folder.data().inputs().get(1, 2, 2, 3), 0);
        assertEquals(1f, folder.data().inputs().get(0, 2, 1, 1), 0.05); // blue JPEG, lossy
    }

    @Test
    void errorsNameTheProblem(@TempDir Path root) throws IOException {
        var e = assertThrows(IllegalArgumentException.class, () -> ImageFolder.load(root, 4, 4));
        assertTrue(e.getMessage().contains("no class sub-folders"), e.getMessage());
        Path bad = Files.createDirectories(root.resolve("cls")).resolve("broken.png");
        Files.write(bad, new byte[] {1, 2, 3, 4});
        e = assertThrows(IllegalArgumentException.class, () -> ImageFolder.load(root, 4, 4));
        assertTrue(e.getMessage().contains(bad.toString()), e.getMessage());
    }
}
