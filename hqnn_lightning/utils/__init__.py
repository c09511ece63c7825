"""What the other packages share: the name -> constructor `registry`, and `native`, which
builds and loads the package's C kernels."""
