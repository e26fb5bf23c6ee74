#!/bin/sh
# Synthesize the spoken-digit demo set: 10 digits x 30 speakers = 300 short WAV clips, plus
# labels.csv (path,label) so that `labelloop simulate` can use the set too.
# Each "speaker" is an espeak-ng accent + voice variant + speed + pitch; sox trims the silence,
# resamples to 8 kHz mono 16-bit and normalises, so each clip is a few kilobytes. Clip names are
# numbered in a scrambled order so that neither the name nor the listing order gives the digit away.
# Needs Debian's espeak-ng and sox. The output is committed; rerun only to change the set.
set -eu
out="${1:-$(dirname "$0")/spoken-digits}"
mkdir -p "$out"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

accents="en-us en-gb en-gb-scotland en-029 en-gb-x-rp en-us-nyc"
variants="m1 f2 m3 f4 m7"
words="zero one two three four five six seven eight nine"

printf 'path,label,speaker\n' > "$out/labels.csv"
speaker=0
clip=0
for accent in $accents; do
  for variant in $variants; do
    speaker=$((speaker + 1))
    speed=$((130 + (speaker * 37) % 70))
    pitch=$((25 + (speaker * 23) % 50))
    digit=0
    for word in $words; do
      name=$(printf 'clip_%03d.wav' $((clip * 173 % 300 + 1)))  # 173 is prime to 300: a permutation
      clip=$((clip + 1))
      espeak-ng -v "$accent+$variant" -s "$speed" -p "$pitch" -w "$tmp" "$word"
      sox "$tmp" -r 8000 -c 1 -b 16 "$out/$name" silence 1 0.02 1% reverse silence 1 0.02 1% reverse norm -1
      printf '%s,%d,%d\n' "$name" "$digit" "$speaker" >> "$out/labels.csv"
      digit=$((digit + 1))
    done
  done
done
echo "wrote $((speaker * 10)) clips to $out"
