package dev.kindling.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenShardsTest {
    @Test
    void shardsAreReadInManifestOrder(@TempDir Path dir) throws Exception {
        TokenFile.write(dir.resolve("b.bin"), new int[] {3, 4}, 10);
        TokenFile.write(dir.resolve("a.bin"), new int[] {1, 2, 9}, 10);
        Files.writeString(dir.resolve(TokenShards.MANIFEST), TokenShards.manifest(List.of(
                new TokenShards.Shard("a.bin", 3, 1, 0), new TokenShards.Shard("b.bin", 2, 1, 2)), 10));
        assertTrue(TokenShards.isShardFolder(dir));
        assertArrayEquals(new int[] {1, 2, 9, 3, 4}, TokenShards.readAll(dir));
        assertEquals(2, TokenShards.readManifest(dir).get(1).skippedRows());
    }

    @Test
    void aManifestThatLiesOrEscapesTheFolderIsNamed(@TempDir Path dir) throws Exception {
        TokenFile.write(dir.resolve("a.bin"), new int[] {1, 2, 9}, 10);
        Files.writeString(dir.resolve(TokenShards.MANIFEST), TokenShards.manifest(List.of(new TokenShards.Shard("a.bin", 4, 1, 0)), 10));
        var e = assertThrows(IOException.class, () -> TokenShards.readAll(dir));
        assertTrue(e.getMessage().contains("holds 3 tokens but manifest.json says 4"), e.getMessage());
        Files.writeString(dir.resolve(TokenShards.MANIFEST), TokenShards.manifest(List.of(new TokenShards.Shard("../x.bin", 3, 1, 0)), 10));
        e = assertThrows(IOException.class, () -> TokenShards.readAll(dir));
        assertTrue(e.getMessage().contains("'../x.bin' must be a plain name"), e.getMessage());
        Files.writeString(dir.resolve(TokenShards.MANIFEST), "{\"format\": \"other\"}");
        e = assertThrows(IOException.class, () -> TokenShards.readManifest(dir));
        assertTrue(e.getMessage().contains("not a token shard manifest"), e.getMessage());
    }
}
