package dev.kindling.tokenizers;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where the tests find their data. */
final class TestData {
    private TestData() {}

    /**
     * Tiny Shakespeare, which the project keeps at {@code ../shared/data/tinyshakespeare.txt} relative to the
     * repository root (and does not copy). Tests run in the module folder, one level below the root.
     */
    static Path tinyShakespeare() {
        Path module = Path.of("").toAbsolutePath();
        for (Path root = module; root != null; root = root.getParent()) {
            Path candidate = root.resolve("../shared/data/tinyshakespeare.txt").normalize();
            if (Files.isRegularFile(candidate)) return candidate;
        }
        throw new IllegalStateException("tiny Shakespeare is missing: expected ../shared/data/tinyshakespeare.txt "
                + "next to the repository (searched upwards from " + module + ")");
    }

    /** A test resource as a file. */
    static Path resource(String name) {
        var url = TestData.class.getResource("/tokenizers/" + name);
        if (url == null) throw new IllegalStateException("test resource tokenizers/" + name + " is missing");
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
