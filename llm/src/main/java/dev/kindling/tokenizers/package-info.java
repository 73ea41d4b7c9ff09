/**
 * Tokenizers: text to token ids and back. {@link dev.kindling.tokenizers.Tokenizer} is the one interface;
 * {@link dev.kindling.tokenizers.CharTokenizer} gives one id per character (nanoGPT's shakespeare_char),
 * {@link dev.kindling.tokenizers.ByteLevelBpeTokenizer} is GPT-2's byte-level BPE (trainable, and identical to
 * GPT-2 on OpenAI's vocabulary files). Both are stored as Hugging Face {@code tokenizer.json} files, read back by
 * {@link dev.kindling.tokenizers.Tokenizer#load}.
 */
package dev.kindling.tokenizers;
