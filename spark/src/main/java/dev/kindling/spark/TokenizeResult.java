package dev.kindling.spark;

import dev.kindling.data.TokenShards;
import java.io.Serializable;
import java.util.List;

/**
 * What {@link KindlingSpark#tokenize} wrote.
 *
 * @param path the output folder (shards, manifest.json, tokenizer.json)
 * @param shards the shards in corpus order, with their counts
 * @param vocabSize the tokenizer's vocabulary size
 */
public record TokenizeResult(String path, List<TokenShards.Shard> shards, int vocabSize) implements Serializable {
    /** Tokens over all shards. */
    public long totalTokens() {
        return shards.stream().mapToLong(TokenShards.Shard::tokens).sum();
    }

    /** Rows left out over all shards (null text, or text the tokenizer could not encode). */
    public long skippedRows() {
        return shards.stream().mapToLong(TokenShards.Shard::skippedRows).sum();
    }
}
