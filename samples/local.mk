# samples/: file lists
EXTRA_DIST += samples/README.md samples/astronaut.png samples/chelsea.png \
  samples/coffee.png samples/speech.wav
