# man/: file lists
