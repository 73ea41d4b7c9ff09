/**
 * Tokenizers: text to token ids and back. {@link dev.kindling.tokenizers.Tokenizer} is the one interface;
 * {@link dev.kindling.tokenizers.CharTokenizer} gives one id per character (nanoGPT's shakespeare_char),
 * {@link dev.kindling.tokenizers.ByteLevelBpeTokenizer} is GPT-2's byte-level BPE (trainable, and identical to
 * GPT-2 on OpenAI's vocabulary files). Both are stored as Hugging Face {@code tokenizer.json} files, read back by
 * {@link dev.kindling.tokenizers.Tokenizer#load}. {@link dev.kindling.tokenizers.HuggingFaceTokenizer} runs any
 * pretrained model's {@code tokenizer.json} (BERT's WordPiece, SentencePiece's Unigram, BPE with byte fallback,
 * ...) with the library's normalizers, pre-tokenizers, post-processors and decoders, and encodes batches
 * ({@link dev.kindling.tokenizers.Encoding}, {@link dev.kindling.tokenizers.EncodeOptions}) with padding,
 * truncation, attention masks and type ids, identically to the Rust library.
 */
package dev.kindling.tokenizers;
